# Copyright (c) crosshost.docker contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one diff builder (module_utils/_diff.py): sections in order, our files, one file."""
from __future__ import annotations

from ansible_collections.crosshost.docker.plugins.module_utils._diff import DiffTracker, file_diff, files_text


def test_sections_join_in_order_under_one_header():
    diff = DiffTracker("route table rtb-1").add("a\n", "a\nb\n").add(None, "c\n")
    assert diff.has_differences
    assert diff.result() == {"before": "a\n", "after": "a\nb\nc\n",
                             "before_header": "route table rtb-1", "after_header": "route table rtb-1"}
    same = DiffTracker("x").add("a\n", "a\n")
    assert not same.has_differences and same.result()["before"] == same.result()["after"] == "a\n"


def test_our_files_show_path_then_content_or_absent():
    changes = {"/etc/b.sh": "new\n", "/etc/a.service": None}
    have = {"/etc/b.sh": None, "/etc/a.service": "[Unit]\n"}
    assert files_text(changes, have) == ("# /etc/b.sh\n(absent)\n# /etc/a.service\n[Unit]\n",
                                         "# /etc/b.sh\nnew\n# /etc/a.service\n(absent)\n")
    assert DiffTracker("h").add_files(changes, have).result()["after"].startswith("# /etc/b.sh\nnew\n")


def test_one_file():
    assert file_diff("/etc/x.conf", None, "k = 1\n") == {
        "before_header": "/etc/x.conf (absent)", "after_header": "/etc/x.conf", "before": "", "after": "k = 1\n"}
    assert file_diff("/etc/x.conf", "k = 1\n", None)["after_header"] == "/etc/x.conf (absent)"
