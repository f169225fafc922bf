"""The input shape of ECS RegisterTaskDefinition, as botocore's service model
(the one the emulator's virtualenv ships, the same API definition the Rust
SDK is generated from) defines it, compacted for the binary's pre-flight
check (src/taskdef/model.rs).

    python extract_ecs_model.py > src/taskdef/ecs-register-task-definition.json
    python extract_ecs_model.py --check src/taskdef/ecs-register-task-definition.json

Each shape keeps its type (t), members (m, name -> shape), required (r),
enum (e), list member (l), map key/value (k, v), min and max.
"""

import json
import sys

import botocore.session


def extract():
    model = botocore.session.get_session().get_service_model("ecs")
    raw = model._service_description  # the JSON as botocore read it
    shapes = raw["shapes"]
    root = raw["operations"]["RegisterTaskDefinition"]["input"]["shape"]
    seen = {}

    def walk(name):
        if name in seen:
            return
        shape = shapes[name]
        seen[name] = shape
        for member in shape.get("members", {}).values():
            walk(member["shape"])
        if shape["type"] == "list":
            walk(shape["member"]["shape"])
        if shape["type"] == "map":
            walk(shape["key"]["shape"])
            walk(shape["value"]["shape"])

    walk(root)

    def compact(shape):
        c = {"t": shape["type"]}
        if "members" in shape:
            c["m"] = {k: v["shape"] for k, v in shape["members"].items()}
        if "required" in shape:
            c["r"] = shape["required"]
        if "enum" in shape:
            c["e"] = shape["enum"]
        if shape["type"] == "list":
            c["l"] = shape["member"]["shape"]
        if shape["type"] == "map":
            c["k"] = shape["key"]["shape"]
            c["v"] = shape["value"]["shape"]
        for k in ("min", "max"):
            if k in shape:
                c[k] = shape[k]
        return c

    return {
        "source": "botocore %s ecs %s RegisterTaskDefinition"
        % (botocore.__version__, raw["metadata"]["apiVersion"]),
        "root": root,
        "shapes": {k: compact(v) for k, v in sorted(seen.items())},
    }


def main():
    text = json.dumps(extract(), indent=0, sort_keys=True) + "\n"
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        with open(sys.argv[2]) as f:
            if f.read() != text:
                sys.exit(
                    "%s differs from botocore's model: regenerate it with %s"
                    % (sys.argv[2], sys.argv[0])
                )
        return
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
