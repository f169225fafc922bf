"""ECR image blobs, which moto does not keep: GetDownloadUrlForLayer and the
download behind it.

moto 5.2.5 raises NotImplementedError for ``GetDownloadUrlForLayer``. AWS
documents it as "Retrieves the pre-signed Amazon S3 download URL
corresponding to an image layer. You can only get URLs for image layers that
are referenced in an image."
(https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_GetDownloadUrlForLayer.html):
the answer is ``{"downloadUrl", "layerDigest"}``; a digest the repository
does not hold is ``LayersNotFoundException``, an unknown repository
``RepositoryNotFoundException``. An image's config blob is fetched the same
way (the registry stores it as a blob of the repository).

The seed registers each blob's bytes in ``BLOBS`` (keyed by repository and
digest, the digest being the sha256 of the bytes, as a registry's is); the
download URL points back at this server (``/_fd/blobs/<repository>/<digest>``)
with a query that stands for S3's signature. Nothing else of S3 is emulated.
"""

import hashlib
from urllib.parse import quote

BLOBS = {}


def put_blob(repository, data):
    """Stores ``data`` as a blob of ``repository``; returns its digest."""
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    BLOBS[(repository, digest)] = data
    return digest


def handle(operation, request, backend, host):
    """(status, answer) of an ECR operation this layer answers."""
    assert operation == "GetDownloadUrlForLayer", operation
    repository = request.get("repositoryName", "")
    digest = request.get("layerDigest", "")
    registry = request.get("registryId") or backend.account_id
    if repository not in backend.repositories:
        return 400, {"__type": "RepositoryNotFoundException",
                     "message": f"The repository with name '{repository}' does not exist in the registry with id '{registry}'"}
    if (repository, digest) not in BLOBS:
        return 400, {"__type": "LayersNotFoundException",
                     "message": "The specified layers could not be found, or the specified layer is not valid for this repository."}
    url = f"http://{host}/_fd/blobs/{quote(repository, safe='')}/{digest}?X-Amz-Expires=3600&X-Amz-Signature=0f0e"
    return 200, {"downloadUrl": url, "layerDigest": digest}


def blob(path):
    """The bytes behind a download URL's path, or None."""
    _, _, rest = path.partition("/_fd/blobs/")
    repository, _, digest = rest.rpartition("/")
    from urllib.parse import unquote

    return BLOBS.get((unquote(repository), digest))
