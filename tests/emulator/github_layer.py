"""A loopback mock of the GitHub REST API, checked against GitHub's own OpenAPI description.

Served by fdemu.py under ``/api/v3`` (the path GitHub Enterprise Server uses,
so the client's handling of ``GITHUB_API_URL`` with a path is exercised too).
The description is ``api.github.com.json`` from the npm package
``@octokit/openapi`` (pinned and checked by tests/run, path in
``$FDEMU_GITHUB_OPENAPI``); openapi-core validates against it:

* every request: path and method must exist, path and query parameters and
  the JSON body must match the operation's schemas. GitHub ignores body
  fields it does not know, so a misspelt field would silently do nothing:
  the mock also rejects top-level body fields the operation does not declare.
  Requests must carry ``Authorization: Bearer|token <token>`` (else 401 "Bad
  credentials") and a ``User-Agent`` (GitHub refuses requests without one).
* every answer the mock gives is validated against the operation's response
  schema too, so what the client parses is what GitHub could send.

A request that breaks the description gets 404/422 and is listed under
``violations`` in ``GET /_fd/github``; tests assert that list is empty.

Behaviour kept from GitHub's documentation:

* ``POST /repos/{o}/{r}/deployments`` without ``required_contexts`` verifies
  every status context of the commit first; inside a workflow run the run's
  own check is still in progress, so GitHub answers 409 "Conflict: Commit
  status checks failed". The mock does the same.
* Deployment statuses of an unknown deployment: 404. ``auto_inactive``
  (default true) marks the environment's earlier deployments ``inactive`` on
  ``success``.
* Issue comments paginate (``per_page`` default 30, max 100) with a ``Link``
  header carrying absolute ``next``/``last`` URLs.

``POST /_fd/github`` seeds and configures: ``{"comments": {"7": [{"body":
…, "login": …}]}}`` adds existing comments; ``{"forbid": ["repos/create-deployment"]}``
answers those operations 403 "Resource not accessible by integration" as for a
token without the permission; ``{"fail": {"issues/create-comment": 2}}`` answers
the next N calls 502 (with ``{"fail_message": …}`` as their message); ``{"token_user": "octocat"}`` makes the token a person's
(``GET /user`` answers that user, comments are theirs, and — as a maintainer's
token may — it can edit anyone's comment); by default it is an installation
token: ``GET /user`` answers 403, comments are ``github-actions[bot]``'s and
only those can be edited. ``GET /_fd/github`` returns the requests, violations,
deployments with their statuses, and comments.
"""

import json
import os
import re
import threading
import time
from urllib.parse import parse_qs, urlencode

PREFIX = "/api/v3"
API_VERSION = "2022-11-28"

# operationId by (method, path pattern) for the operations the mock implements.
ROUTES = [
    ("POST", r"/repos/([^/]+)/([^/]+)/deployments", "repos/create-deployment"),
    ("POST", r"/repos/([^/]+)/([^/]+)/deployments/(\d+)/statuses", "repos/create-deployment-status"),
    ("GET", r"/repos/([^/]+)/([^/]+)/issues/(\d+)/comments", "issues/list-comments"),
    ("POST", r"/repos/([^/]+)/([^/]+)/issues/(\d+)/comments", "issues/create-comment"),
    ("PATCH", r"/repos/([^/]+)/([^/]+)/issues/comments/(\d+)", "issues/update-comment"),
    ("GET", r"/user", "users/get-authenticated"),
]


def _stamp(t=None):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t or time.time()))


def _user(login, bot):
    base = f"https://api.github.com/users/{login}"
    return {
        "login": login, "id": 41898282 if bot else 583231, "node_id": "MDM6Qm90NDE4OTgyODI=",
        "avatar_url": "https://avatars.githubusercontent.com/in/15368?v=4", "gravatar_id": "",
        "url": base, "html_url": f"https://github.com/{login}", "followers_url": f"{base}/followers",
        "following_url": f"{base}/following{{/other_user}}", "gists_url": f"{base}/gists{{/gist_id}}",
        "starred_url": f"{base}/starred{{/owner}}{{/repo}}", "subscriptions_url": f"{base}/subscriptions",
        "organizations_url": f"{base}/orgs", "repos_url": f"{base}/repos", "events_url": f"{base}/events{{/privacy}}",
        "received_events_url": f"{base}/received_events", "type": "Bot" if bot else "User", "site_admin": False,
    }


BOT = _user("github-actions[bot]", True)


class GitHub:
    def __init__(self, token):
        self.token = token
        self.lock = threading.Lock()
        self._api = None
        self.requests = []
        self.violations = []
        self.deployments = {}  # id -> deployment (with "statuses": [...])
        self.comments = {}  # issue number -> [comment]
        self.next_id = 1000
        self.forbid = set()
        self.fail = {}
        # Who the token acts as: None for an installation token (the job's
        # GITHUB_TOKEN), which GET /user refuses; a login for a person's token.
        self.token_user = None
        self.fail_message = "Server Error"

    # -- the description ----------------------------------------------------
    def api(self):
        with self.lock:
            if self._api is None:
                from openapi_core import Config, OpenAPI

                path = os.environ.get("FDEMU_GITHUB_OPENAPI", "")
                if not os.path.exists(path):
                    raise RuntimeError(f"GitHub's OpenAPI description is not installed (FDEMU_GITHUB_OPENAPI={path!r}); run tests/run")
                with open(path, encoding="utf-8") as f:
                    spec = json.load(f)
                # The description is GitHub's and large; validating the document itself is not our job.
                self._api = OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None))
            return self._api

    # -- control ------------------------------------------------------------
    def control(self, update):
        with self.lock:
            for issue, comments in update.get("comments", {}).items():
                for c in comments:
                    self._add_comment(int(issue), c["body"], _user(c.get("login", "octocat"), c.get("bot", False)), "http://seed")
            self.forbid.update(update.get("forbid", []))
            self.fail.update(update.get("fail", {}))
            if "fail_message" in update:
                self.fail_message = update["fail_message"]
            if "token_user" in update:
                self.token_user = update["token_user"]
            return self.state()

    def state(self):
        return {"requests": self.requests, "violations": self.violations,
                "deployments": list(self.deployments.values()), "comments": self.comments}

    # -- WSGI -----------------------------------------------------------------
    def __call__(self, environ, start_response):
        from openapi_core.testing import MockRequest, MockResponse

        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "")[len(PREFIX):] or "/"
        query = environ.get("QUERY_STRING", "")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        base = f"http://{environ.get('HTTP_HOST', '127.0.0.1')}{PREFIX}"
        ctype = (environ.get("CONTENT_TYPE") or "").split(";")[0] or None
        entry = {"method": method, "path": path, "query": query,
                 "api_version": environ.get("HTTP_X_GITHUB_API_VERSION"),
                 "authorized": environ.get("HTTP_AUTHORIZATION", "") in (f"Bearer {self.token}", f"token {self.token}")}
        try:
            entry["body"] = json.loads(raw) if raw else None
        except ValueError:
            entry["body"] = raw.decode("utf-8", "replace")
        with self.lock:
            self.requests.append(entry)

        def answer(status, body, headers=()):
            data = json.dumps(body).encode()
            start_response(status, [("Content-Type", "application/json; charset=utf-8"),
                                    ("Content-Length", str(len(data))),
                                    ("X-GitHub-Api-Version-Selected", API_VERSION), *headers])
            return [data]

        def violation(status, message):
            with self.lock:
                self.violations.append(f"{method} {path}: {message}")
            return answer(status, {"message": message, "documentation_url": "https://docs.github.com/rest"})

        if not entry["authorized"]:
            return answer("401 Unauthorized", {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401"})
        if not environ.get("HTTP_USER_AGENT"):
            return violation("403 Forbidden", "Request forbidden by administrative rules. Please make sure your request has a User-Agent header")

        request = MockRequest("https://api.github.com", method.lower(), path, args=parse_qs(query),
                              data=raw or None, content_type=ctype)
        try:
            api = self.api()
        except RuntimeError as e:
            return violation("500 Internal Server Error", str(e))
        try:
            api.validate_request(request)
        except Exception as e:  # openapi-core's PathNotFound, InvalidRequestBody, … name what is wrong
            cause = f" ({e.__cause__})" if e.__cause__ else ""
            status = "404 Not Found" if "NotFound" in type(e).__name__ else "422 Unprocessable Entity"
            return violation(status, f"not in GitHub's OpenAPI description: {type(e).__name__}: {e}{cause}")

        route = next(((op, m.groups()) for verb, pattern, op in ROUTES
                      if verb == method and (m := re.fullmatch(pattern, path))), None)
        if route is None:
            return violation("501 Not Implemented", "valid for GitHub, but the mock does not implement it")
        op, groups = route
        body = entry["body"] if isinstance(entry["body"], dict) else {}
        declared = self._declared_fields(api, path, method)
        unknown = sorted(set(body) - declared) if declared is not None else []
        if unknown:
            return violation("422 Unprocessable Entity", f"fields GitHub does not declare for {op}: {unknown}")

        with self.lock:
            if op in self.forbid:
                return answer("403 Forbidden", {"message": "Resource not accessible by integration",
                                                "documentation_url": "https://docs.github.com/rest", "status": "403"})
            if self.fail.get(op, 0) > 0:
                self.fail[op] -= 1
                return answer("502 Bad Gateway", {"message": self.fail_message})
            status, doc, headers = getattr(self, "_" + op.split("/")[1].replace("-", "_"))(base, groups, body, parse_qs(query))

        code = int(status.split()[0])
        response = MockResponse(json.dumps(doc).encode(), status_code=code, content_type="application/json")
        try:
            api.validate_response(request, response)
        except Exception as e:
            cause = f" ({e.__cause__})" if e.__cause__ else ""
            return violation("500 Internal Server Error", f"the mock's answer breaks the description: {e}{cause}")
        return answer(status, doc, headers)

    def _declared_fields(self, api, path, method):
        for template, item in api.spec["paths"].items():
            pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
            if re.fullmatch(pattern, path) and method.lower() in item:
                body = item[method.lower()].get("requestBody")
                if body is None:
                    return set()
                schema = body["content"]["application/json"]["schema"]
                props = schema.get("properties")
                return set(props.keys()) if props is not None else None
        return None

    # -- operations (called with the lock held) ---------------------------------
    def _id(self):
        self.next_id += 1
        return self.next_id

    def _create_deployment(self, base, groups, body, _query):
        owner, repo = groups
        if "required_contexts" not in body:
            return "409 Conflict", {"message": "Conflict: Commit status checks failed for " + body["ref"] + ".",
                                    "documentation_url": "https://docs.github.com/rest/deployments/deployments#create-a-deployment"}, []
        did = self._id()
        repo_url = f"{base}/repos/{owner}/{repo}"
        now = _stamp()
        deployment = {
            "url": f"{repo_url}/deployments/{did}", "id": did, "node_id": f"DE_{did}",
            "sha": body["ref"] if re.fullmatch(r"[0-9a-f]{40}", body["ref"]) else "0" * 40,
            "ref": body["ref"], "task": body.get("task", "deploy"), "payload": body.get("payload", {}),
            "original_environment": body.get("environment", "production"),
            "environment": body.get("environment", "production"), "description": body.get("description"),
            "creator": BOT, "created_at": now, "updated_at": now,
            "statuses_url": f"{repo_url}/deployments/{did}/statuses", "repository_url": repo_url,
            "transient_environment": body.get("transient_environment", False),
            "production_environment": body.get("production_environment", body.get("environment", "production") == "production"),
        }
        self.deployments[did] = {**deployment, "statuses": [], "state": None}
        return "201 Created", deployment, []

    def _create_deployment_status(self, base, groups, body, _query):
        owner, repo, did = groups
        deployment = self.deployments.get(int(did))
        if deployment is None:
            return "404 Not Found", {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}, []
        sid = self._id()
        now = _stamp()
        status = {
            "url": f"{deployment['url']}/statuses/{sid}", "id": sid, "node_id": f"DES_{sid}",
            "state": body["state"], "creator": BOT, "description": body.get("description", ""),
            "environment": body.get("environment", deployment["environment"]),
            "target_url": body.get("target_url", body.get("log_url", "")), "log_url": body.get("log_url", ""),
            "environment_url": body.get("environment_url", ""),
            "deployment_url": deployment["url"], "repository_url": deployment["repository_url"],
            "created_at": now, "updated_at": now,
        }
        deployment["statuses"].append(status)
        deployment["state"] = body["state"]
        if body["state"] == "success" and body.get("auto_inactive", True):
            for other in self.deployments.values():
                if other is not deployment and other["environment"] == deployment["environment"] and other["state"] == "success":
                    other["state"] = "inactive"
        return "201 Created", status, []

    def _add_comment(self, issue, text, user, base):
        cid = self._id()
        now = _stamp()
        comment = {"id": cid, "node_id": f"IC_{cid}", "url": f"{base}/repos/octo-org/octo-app/issues/comments/{cid}",
                   "html_url": f"https://github.com/octo-org/octo-app/pull/{issue}#issuecomment-{cid}",
                   "issue_url": f"{base}/repos/octo-org/octo-app/issues/{issue}", "body": text, "user": user,
                   "created_at": now, "updated_at": now, "author_association": "NONE"}
        self.comments.setdefault(str(issue), []).append(comment)
        return comment

    def _list_comments(self, base, groups, _body, query):
        owner, repo, issue = groups
        per_page = min(int((query.get("per_page") or ["30"])[0]), 100)
        page = max(int((query.get("page") or ["1"])[0]), 1)
        comments = self.comments.get(issue, [])
        last = max((len(comments) + per_page - 1) // per_page, 1)
        headers = []
        if page < last:
            url = f"{base}/repos/{owner}/{repo}/issues/{issue}/comments?"
            links = [f'<{url}{urlencode({"per_page": per_page, "page": page + 1})}>; rel="next"',
                     f'<{url}{urlencode({"per_page": per_page, "page": last})}>; rel="last"']
            headers.append(("Link", ", ".join(links)))
        return "200 OK", comments[(page - 1) * per_page:page * per_page], headers

    def _me(self):
        return _user(self.token_user, False) if self.token_user else BOT

    def _get_authenticated(self, _base, _groups, _body, _query):
        # An installation token cannot read the authenticated user.
        if not self.token_user:
            return "403 Forbidden", {"message": "Resource not accessible by integration",
                                     "documentation_url": "https://docs.github.com/rest/users/users#get-the-authenticated-user",
                                     "status": "403"}, []
        me = self._me()
        return "200 OK", {**me, "name": None, "company": None, "blog": "", "location": None, "email": None,
                          "hireable": None, "bio": None, "public_repos": 1, "public_gists": 0, "followers": 0,
                          "following": 0, "created_at": "2011-01-25T18:44:36Z", "updated_at": "2026-01-25T18:44:36Z",
                          "user_view_type": "public"}, []

    def _create_comment(self, base, groups, body, _query):
        return "201 Created", self._add_comment(int(groups[2]), body["body"], self._me(), base), []

    def _update_comment(self, base, groups, body, _query):
        cid = int(groups[2])
        for comments in self.comments.values():
            for c in comments:
                if c["id"] == cid:
                    if c["user"]["login"] != self._me()["login"] and not self.token_user:
                        return "403 Forbidden", {"message": "Resource not accessible by integration",
                                                 "documentation_url": "https://docs.github.com/rest", "status": "403"}, []
                    c["body"], c["updated_at"] = body["body"], _stamp()
                    return "200 OK", c, []
        return "404 Not Found", {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}, []
