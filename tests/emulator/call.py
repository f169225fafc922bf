"""One AWS call through boto3 against the emulator, for a test's set-up or
its look at the result afterwards (boto3 checks the parameters against the
service model before sending). Prints the answer as JSON.

usage: call.py ENDPOINT SERVICE OPERATION JSON-PARAMETERS
"""

import json
import sys

import boto3

endpoint, service, operation, params = sys.argv[1:5]
client = boto3.client(service, region_name="eu-west-1", endpoint_url=endpoint,
                      aws_access_key_id="testing", aws_secret_access_key="testing")
answer = getattr(client, operation)(**json.loads(params))
answer.pop("ResponseMetadata", None)
print(json.dumps(answer, default=str))
