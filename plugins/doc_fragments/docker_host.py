# -*- coding: utf-8 -*-
# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment(object):
    """The O(docker_host) option of every module that talks to dockerd (through module_utils/_docker_api)."""

    DOCUMENTATION = r"""
options:
  docker_host:
    description:
      - The Docker daemon, as C(unix:///path/to/socket) or C(tcp://host:port) (without TLS).
      - If the value is not specified in the task, the value of the environment variable E(DOCKER_HOST) on the managed
        host is used.
    type: str
    default: unix:///var/run/docker.sock
"""
