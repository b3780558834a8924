"""EC2 filter values with AWS's wildcard rules, not shell patterns.

AWS documents filter values (``tag:KEY``, ``tag-value``, ``description``…) as exact strings where
only ``*`` (any run of characters) and ``?`` (one character) are wildcards, and a backslash escapes
them (``\\*``, ``\\?``, ``\\\\``). moto matches them with ``fnmatch``, for which ``[…]`` is a
character class: a tag value such as ``daskhub.network.subnet.private["us-east-1a"]`` then matches
nothing, so a recovery search by tag finds nothing on the emulator while it would on AWS.

``install`` replaces the two places moto turns a filter value into a pattern: the ``fnmatch``
module that ``moto.ec2.utils.is_filter_matching`` (``generic_filter``) uses, and
``simple_aws_filter_to_re`` (``tag_filter_matches``, DescribeTags) everywhere it was imported.
"""

from __future__ import annotations

import re
import sys
from functools import lru_cache


@lru_cache(maxsize=4096)
def aws_filter_to_re(value: str) -> str:
    """A regex source that matches exactly what AWS's filter ``value`` matches."""
    out: list[str] = []
    i = 0
    while i < len(value):
        c = value[i]
        if c == "\\" and i + 1 < len(value) and value[i + 1] in "*?\\":
            out.append(re.escape(value[i + 1]))
            i += 2
            continue
        if c == "*":
            out.append(".*")
        elif c == "?":
            out.append(".")
        else:
            out.append(re.escape(c))
        i += 1
    return "(?s:" + "".join(out) + r")\Z"


@lru_cache(maxsize=4096)
def _compiled(value: str) -> re.Pattern[str]:
    return re.compile(aws_filter_to_re(value))


def matches(name: str, value: str) -> bool:
    """Whether the string ``name`` passes the AWS filter value ``value`` (case-sensitive)."""
    return _compiled(value).match(name) is not None


class _AwsFnmatch:
    """Stands in for the ``fnmatch`` module inside moto's EC2 filter code."""

    @staticmethod
    def fnmatch(name: str, pat: str) -> bool:
        return matches(name, pat)

    fnmatchcase = fnmatch

    @staticmethod
    def translate(pat: str) -> str:
        return aws_filter_to_re(pat)

    @staticmethod
    def filter(names: list[str], pat: str) -> list[str]:
        return [n for n in names if matches(n, pat)]


def install() -> None:
    import moto.ec2.utils as utils

    utils.fnmatch = _AwsFnmatch  # type: ignore[assignment]
    utils.simple_aws_filter_to_re = aws_filter_to_re
    for module in list(sys.modules.values()):
        name = getattr(module, "__name__", "") or ""
        if name.startswith("moto.") and getattr(module, "simple_aws_filter_to_re", None) is not None:
            module.simple_aws_filter_to_re = aws_filter_to_re  # type: ignore[attr-defined]
