"""Prints template.yaml after the SAM transform, as JSON, the way CloudFormation
would receive it (intrinsic functions left in place). Used by the template tests.

usage: transform-template.py TEMPLATE
"""

import json
import os
import sys

from samtranslator.parser.parser import Parser
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class NoManagedPolicies:
    """The template names no AWS managed policies, so none need looking up."""

    def load(self):
        return {}


def main():
    # The translator reads the region of a boto session; no call is made.
    os.environ.setdefault("AWS_DEFAULT_REGION", "ap-southeast-1")
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    with open(sys.argv[1], encoding="utf-8") as f:
        template = yaml_parse(f.read())
    # As `sam package` would: local code folders become S3 locations.
    code_uri = template.get("Globals", {}).get("Function", {})
    if "CodeUri" in code_uri:
        code_uri["CodeUri"] = "s3://packaged-code/functions.zip"
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        if resource.get("Type") == "AWS::Serverless::Function" and "CodeUri" in properties:
            properties["CodeUri"] = "s3://packaged-code/functions.zip"
    parameters = {"AWS::Region": "ap-southeast-1", "AWS::AccountId": "123456789012", "AWS::Partition": "aws"}
    result = transform(template, parameters, NoManagedPolicies(), Parser())
    json.dump(result, sys.stdout, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
