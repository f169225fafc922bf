# The released image of the action: a static (musl) binary on an empty base.
# Built once per release by .github/workflows/release.yml and referred to by
# action.yml, so a workflow starts the action in seconds instead of compiling it.
FROM rust:1.95-alpine3.22 AS build
# The base image's tag pins the Alpine release these packages come from.
# hadolint ignore=DL3018
RUN apk add --no-cache musl-dev cmake make perl ca-certificates
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
RUN cargo build --release --locked \
 && cp target/release/fargate-deploy /fargate-deploy

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /fargate-deploy /fargate-deploy
ENTRYPOINT ["/fargate-deploy"]
