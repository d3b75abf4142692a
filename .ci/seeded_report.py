"""Seeded reports that must come out the same from the wheel and from the checkout: verdicts may not depend on how
the oracle is installed, nor on the directory it runs from. Prints the reports with what changes between runs
masked (times, the moment a reproducer was written, the folder it went to), then anything the checks wrote into
the working directory besides the report folder they were given (nothing, if all is well).

Run with the environment under test active: ``python .ci/seeded_report.py > report.txt``.
"""

import os
import re
import subprocess
import sys
import tempfile

CHECKS = [
    ["oracle.zoo.padding_wrong_side", "--property", "forward", "--property", "dx"],
    ["oracle.zoo.transposed_output_channel_tail", "--property", "transposed forward"],
    ["oracle.targets.torch", "--property", "inf propagation", "--property", "NaN propagation"],
]


def mask(text: str) -> str:
    text = re.sub(r" +\d+(\.\d+)?s\b", " <time>", text)
    text = re.sub(r"\(\d+(\.\d+)?s\)", "(<time>)", text)
    text = re.sub(r"\d{8}-\d{6}(-\d+)?", "<stamp>", text)
    return re.sub(r"python \S*/([^/\s]+\.py)", r"python <reports>/\1", text)


with tempfile.TemporaryDirectory() as work:
    for args in CHECKS:
        command = ["conv-oracle", "check", *args, "--jobs", "1", "--report-dir", os.path.join(work, "reports")]
        run = subprocess.run(command, capture_output=True, text=True, cwd=work)
        print(f"== {' '.join(command[:-2])} (exit {run.returncode})")
        print(mask(run.stdout + run.stderr))
    print("written into the working directory:", sorted(set(os.listdir(work)) - {"reports"}))
sys.exit(0)
