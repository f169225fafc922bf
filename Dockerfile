# The released image of the action: the static (musl) binary and a CA
# bundle on an empty base — nothing else. It is built from binaries built
# beforehand (tests/image/build here, .github/workflows/release.yml for a
# release), so building it pulls no base image and runs nothing:
#
#   dist/ca-certificates.crt
#   dist/amd64/fargate-deploy   (x86_64-unknown-linux-musl)
#   dist/arm64/fargate-deploy   (aarch64-unknown-linux-musl)
#
# TARGETARCH (amd64, arm64) is set by the builder for each platform.
FROM scratch
ARG TARGETARCH
COPY dist/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY dist/${TARGETARCH}/fargate-deploy /fargate-deploy
ENTRYPOINT ["/fargate-deploy"]
