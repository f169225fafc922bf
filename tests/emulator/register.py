"""Registers a task-definition JSON file through boto3 against the emulator.

boto3 validates every parameter against the real ECS API model before
sending (unknown fields, wrong types), which is the point: it proves an
artifact is registerable as-is. Prints the new ARN.

usage: register.py ENDPOINT FILE
"""

import json
import sys

import boto3

endpoint, path = sys.argv[1], sys.argv[2]
ecs = boto3.client("ecs", region_name="eu-west-1", endpoint_url=endpoint,
                   aws_access_key_id="testing", aws_secret_access_key="testing")
with open(path) as f:
    td = json.load(f)
print(ecs.register_task_definition(**td)["taskDefinition"]["taskDefinitionArn"])
