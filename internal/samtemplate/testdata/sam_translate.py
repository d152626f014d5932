#!/usr/bin/env python3
"""Translate an AWS SAM template to plain CloudFormation, offline.

Runs the transform that `sam deploy` has CloudFormation run
(AWS::Serverless-2016-10-31), with aws-sam-translator (the Python module
samtranslator), so that a template the transform would reject fails here,
before any deployment. Local artefact paths (CodeUri, DefinitionUri, ...)
are what `sam package` would upload; they are replaced by S3 placeholders
first, as the translator accepts only S3 locations.

Usage:
    sam_translate.py TEMPLATE            # YAML or JSON file
    sam_translate.py -                   # JSON on standard input
    ... [--parameter Name=Value ...]
    sam_translate.py --batch             # many at once (the translator's
                                         # import is most of the time)

--batch reads a JSON list of {"template": {...}, "parameters": {...}} on
standard input and prints a JSON list with, for each, {"template": {...}}
or {"errors": ["...", ...]}; it exits 0 unless its input is unreadable.

Prints the translated template as JSON on standard output. On a
translation error, prints each cause on standard error and exits 1.
Needs no AWS credentials and makes no network call: AWS managed policy
names resolve from the map bundled with the translator, and a name outside
it is an error rather than an IAM lookup.
"""

import argparse
import json
import logging
import os
import sys

# The translator reads the region (for ARNs and partitions) from the boto
# session; a fixed one keeps it off the network and the output stable.
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
# Its warnings are about its own feature flags, not the template.
logging.getLogger("samtranslator").setLevel(logging.ERROR)

from samtranslator.public.exceptions import InvalidDocumentException  # noqa: E402
from samtranslator.translator.transform import transform  # noqa: E402
from samtranslator.yaml_helper import yaml_parse  # noqa: E402

PLACEHOLDER = "s3://sfn-callback-urls-artifacts/placeholder.zip"

# Properties that name a local artefact for `sam package`, by resource type.
ARTEFACT_PROPERTIES = {
    "AWS::Serverless::Function": ["CodeUri"],
    "AWS::Serverless::LayerVersion": ["ContentUri"],
    "AWS::Serverless::Api": ["DefinitionUri"],
    "AWS::Serverless::HttpApi": ["DefinitionUri"],
    "AWS::Serverless::StateMachine": ["DefinitionUri"],
    "AWS::Serverless::GraphQLApi": ["SchemaUri"],
}


class UnknownManagedPolicy(Exception):
    pass


class OfflinePolicyLoader:
    """Stands in for the translator's IAM-backed ManagedPolicyLoader.

    The translator calls load() only for a Policies entry that is neither an
    ARN nor an AWS managed policy it knows: a misspelt or customer policy
    name, which CloudFormation would reject.
    """

    def load(self):
        raise UnknownManagedPolicy(
            "a function's or state machine's Policies names a managed policy that is neither an ARN "
            "nor an AWS managed policy known to the translator (misspelt? use its ARN)"
        )


def is_local(value):
    return isinstance(value, str) and not value.startswith(("s3://", "https://", "http://"))


def replace_local_artefacts(template):
    """Points local artefact paths at an S3 placeholder; returns what it replaced."""
    replaced = []
    function_globals = (template.get("Globals") or {}).get("Function") or {}
    if is_local(function_globals.get("CodeUri")):
        replaced.append(("Globals.Function", "CodeUri", function_globals["CodeUri"]))
        function_globals["CodeUri"] = PLACEHOLDER
    for logical_id, resource in (template.get("Resources") or {}).items():
        if not isinstance(resource, dict):
            continue
        properties = resource.get("Properties")
        if not isinstance(properties, dict):
            continue
        for name in ARTEFACT_PROPERTIES.get(resource.get("Type"), []):
            if is_local(properties.get(name)):
                replaced.append((logical_id, name, properties[name]))
                properties[name] = PLACEHOLDER
    return replaced


def translate_one(template, parameters):
    """Returns (translated template, None) or (None, [error messages])."""
    replace_local_artefacts(template)
    try:
        return transform(template, parameters, OfflinePolicyLoader()), None
    except InvalidDocumentException as e:
        return None, [cause.message for cause in e.causes]
    except UnknownManagedPolicy as e:
        return None, [str(e)]


def batch():
    jobs = json.load(sys.stdin)
    results = []
    for job in jobs:
        translated, errors = translate_one(job["template"], job.get("parameters") or {})
        results.append({"errors": errors} if errors else {"template": translated})
    json.dump(results, sys.stdout, sort_keys=True, default=str)
    sys.stdout.write("\n")
    return 0


def main():
    if sys.argv[1:] == ["--batch"]:
        return batch()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("template", help="template file (YAML or JSON), or - for JSON on stdin")
    parser.add_argument("--parameter", action="append", default=[], metavar="NAME=VALUE",
                        help="a parameter value (the template's defaults fill the rest)")
    args = parser.parse_args()

    if args.template == "-":
        template = json.load(sys.stdin)
    else:
        with open(args.template, encoding="utf-8") as f:
            template = yaml_parse(f.read())
    parameters = {}
    for kv in args.parameter:
        name, sep, value = kv.partition("=")
        if not sep:
            parser.error("--parameter wants NAME=VALUE, got %r" % kv)
        parameters[name] = value

    translated, errors = translate_one(template, parameters)
    if errors:
        for message in errors:
            print("translation error: %s" % message, file=sys.stderr)
        return 1
    json.dump(translated, sys.stdout, indent=1, sort_keys=True, default=str)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
