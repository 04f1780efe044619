# -*- coding: utf-8 -*-
# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test aid: SIGKILL the whole ansible-playbook process group when a task whose name contains
$CROSSHOST_KILL_AT starts (an interrupted run at an exact point: no handler, no cleanup runs).

The test starts ansible-playbook in a session of its own, so only that run dies."""

from __future__ import annotations

DOCUMENTATION = """
name: kill_at
type: aggregate
short_description: kill the run when a named task starts (tests only)
description:
  - Sends SIGKILL to ansible-playbook's process group when a task whose name contains E(CROSSHOST_KILL_AT) starts.
requirements:
  - enabled in ANSIBLE_CALLBACKS_ENABLED
"""

import os
import signal

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "kill_at"
    CALLBACK_NEEDS_ENABLED = True

    def v2_playbook_on_task_start(self, task, is_conditional):
        marker = os.environ.get("CROSSHOST_KILL_AT")
        if marker and marker in task.get_name():
            with open(os.environ.get("CROSSHOST_KILL_LOG", os.devnull), "a") as log:
                log.write("killed at: %s\n" % task.get_name())
            os.killpg(os.getpgid(0), signal.SIGKILL)
