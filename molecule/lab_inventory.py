#!/usr/bin/env python3
"""Ansible inventory script: the lab named by $LAB_NAME (molecule scenarios link it as `hosts`).

Empty while the lab is down (before `create`, after `destroy`), the lab's hosts once it is up.
"""
import os
import subprocess
import sys

LAB = os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(__file__))), "lab", "lab.py")

if len(sys.argv) > 1 and sys.argv[1] == "--host":
    print("{}")
else:
    sys.stdout.write(subprocess.run([sys.executable, LAB, "inventory-json"], check=True,
                                    capture_output=True, text=True).stdout)
