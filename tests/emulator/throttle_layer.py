"""ECS request throttling, as AWS documents it ("Request throttling for the
Amazon ECS API", https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html):

* per account and Region, a token bucket per operation group: the bucket's
  maximum capacity is the burst rate, its refill rate the sustained rate;
  each request takes one token, and a request that finds the bucket empty
  is refused;
* the refusal is ``ThrottlingException`` with the message ``Rate exceeded``
  (HTTP 400, the JSON protocol's error shape).

moto does not throttle. This layer does, for the operations a test names,
with the capacity and refill rate the test gives::

    POST /_fd/config {"throttle": {"ecs:UpdateService": [3, 1.0]}}

AWS's page publishes the bucket sizes per operation group in a table this
repository could not read (the stored copies end before it), so no rate is
built in: the layer is off until a test sets one, and a test says which
rate it uses and why. Every refusal is counted (``throttled`` in the
``/_fd/config`` answer) so a test can check that throttling happened.
"""

import threading
import time

LOCK = threading.Lock()


class Buckets:
    def __init__(self):
        self.tokens = {}  # operation -> (tokens, last refill time)
        self.throttled = {}  # operation -> refusals

    def take(self, operation, capacity, refill_per_second):
        """Takes a token for `operation`; False when its bucket is empty."""
        with LOCK:
            now = time.monotonic()
            tokens, last = self.tokens.get(operation, (float(capacity), now))
            tokens = min(float(capacity), tokens + (now - last) * float(refill_per_second))
            if tokens >= 1.0:
                self.tokens[operation] = (tokens - 1.0, now)
                return True
            self.tokens[operation] = (tokens, now)
            self.throttled[operation] = self.throttled.get(operation, 0) + 1
            return False


def refusal():
    """The answer of a throttled request, as the page shows it."""
    return 400, {"__type": "ThrottlingException", "message": "Rate exceeded"}
