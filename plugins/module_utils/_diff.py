# -*- coding: utf-8 -*-
# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Diffs for ``--diff``: the one place where a module's before/after text is put together.

``DiffTracker(header)`` collects sections (the rules, the routes, a link, our files), each as
before/after text, and returns Ansible's diff dict; ``files_text`` renders "our files" as
``# PATH`` then the content (or ``(absent)``); ``file_diff`` is the diff of one file. Pure Python.
"""

from __future__ import annotations

ABSENT = "(absent)\n"


class DiffTracker(object):
    """Before and after text of one diff, added section by section, under one header."""

    def __init__(self, header):
        self.header = header
        self.sections = []

    def add(self, before, after):
        self.sections.append((before or "", after or ""))
        return self

    def add_files(self, changes, have):
        """Our files: ``changes`` {path: wanted content or None}, ``have`` {path: content or None}."""
        return self.add(*files_text(changes, have))

    @property
    def has_differences(self):
        return any(before != after for before, after in self.sections)

    def result(self):
        return dict(before="".join(b for b, _a in self.sections), after="".join(a for _b, a in self.sections),
                    before_header=self.header, after_header=self.header)


def files_text(changes, have):
    """(before, after) text of our files: for each path of ``changes``, in its order, "# PATH" then the
    content it has (``have``) and the content it gets (``changes``), or "(absent)"."""
    before = after = ""
    for path, content in changes.items():
        before += "# %s\n%s" % (path, have.get(path) or ABSENT)
        after += "# %s\n%s" % (path, content or ABSENT)
    return before, after


def file_diff(path, before, after):
    """The diff of one file; a file that is not there (None) says so in its header."""
    return {
        "before_header": path if before is not None else "%s (absent)" % path,
        "after_header": path if after is not None else "%s (absent)" % path,
        "before": before or "",
        "after": after or "",
    }
