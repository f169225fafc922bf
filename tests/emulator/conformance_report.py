"""The conformance report tests/run prints after the end-to-end suites:
every AWS operation the tool called, how many requests and answers were
checked against AWS's service models (tests/emulator/conformance.py), and
the violations, which must be 0 (each one already failed the test that
caused it). Reads target/conformance/*.json, one file per emulator run."""

import glob
import json
import sys


def main(folder):
    ops, violations = {}, []
    for path in glob.glob(f"{folder}/*.json"):
        with open(path) as f:
            state = json.load(f)
        violations.extend(state.get("violations", []))
        for op, counts in state.get("operations", {}).items():
            total = ops.setdefault(op, {})
            for k, n in counts.items():
                total[k] = total.get(k, 0) + n
    if not ops:
        print("conformance: no emulator runs recorded")
        return 1
    width = max(len(op) for op in ops)
    print(f"{'operation':<{width}}  requests  layer answers  moto answers")
    for op in sorted(ops):
        c = ops[op]
        print(f"{op:<{width}}  {c.get('requests', 0):>8}  {c.get('layer answers', 0):>13}  {c.get('moto answers', 0):>12}")
    requests = sum(c.get("requests", 0) for c in ops.values())
    layer = sum(c.get("layer answers", 0) for c in ops.values())
    moto = sum(c.get("moto answers", 0) for c in ops.values())
    print(f"conformance: {len(ops)} operations called; {requests} requests, {layer} layer answers and "
          f"{moto} moto answers checked against the AWS service models; violations: {len(violations)}")
    for v in sorted(set(violations)):
        print(f"  {v}")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "target/conformance"))
