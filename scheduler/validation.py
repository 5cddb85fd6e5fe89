"""Every value that comes in (form fields, file contents: plan, contacts, targets, goals, checklists, scoring), checked
at the door, with located Chinese errors.

One record (`LocatedError`: where + message), one exception per file (`InputInvalid`: which kind of file, which
file, every problem found) and one per form value (`ValueRefused`); the checks every form and importer shares:
integers from ASCII digits only and bounded, finite bounded decimals, years in a sane range, text without NUL or
control characters and of bounded length, and `read_input_file` — regular files only, bounded in size and time.
Bottom layer: imports nothing from `scheduler`.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import stat
import time
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic_core import PydanticCustomError


class FileKind(StrEnum):
    """The kinds of input file an administrator writes; each names itself in Chinese (`FILE_LABELS`)."""

    PLAN = "plan"
    CONTACTS = "contacts"
    TARGETS = "targets"
    CHECKLISTS = "checklists"
    SCORING = "scoring"
    GOALS = "goals"


FILE_LABELS = {
    FileKind.PLAN: "计划文件",
    FileKind.CONTACTS: "联系人文件",
    FileKind.TARGETS: "目标文件",
    FileKind.CHECKLISTS: "筹备事项模板文件",
    FileKind.SCORING: "计分设置文件",
    FileKind.GOALS: "发展目标文件",
}


@dataclass(frozen=True, kw_only=True)
class LocatedError:
    """One problem: where (a JSON path like `events[3].sessions[0]`, `第 7 行`, a form field) and what, in Chinese.

    An empty `where` means the whole file. The separator follows the script of the place: an ASCII path keeps the
    `: ` the plan tools have always printed (`events[3].seq: 序号 3 重复`), a Chinese place takes the full-width
    colon (`第 3 行：未知板块 '火星'`).
    """

    where: str
    message: str

    def __str__(self) -> str:
        if not self.where:
            return self.message
        return f"{self.where}{': ' if self.where.isascii() else '：'}{self.message}"

    def as_dict(self) -> dict[str, str]:
        """Return the JSON form programs read: `{"path": where, "message": message}`."""
        return {"path": self.where, "message": self.message}


class InputInvalid(ValueError):
    """A file that cannot be used; carries every problem found (a str: one about the whole file). Nothing written."""

    def __init__(self, source: str, errors: Sequence[LocatedError] | str, *, kind: FileKind) -> None:
        self.source = source
        self.errors = [LocatedError(where="", message=errors)] if isinstance(errors, str) else list(errors)
        self.kind = kind
        super().__init__("\n".join([self.heading, *(f"  {e}" for e in self.errors)]))

    @property
    def heading(self) -> str:
        """Say which file failed and how often: `计划文件 X 有 3 处错误，未写入任何数据：`."""
        return f"{FILE_LABELS[self.kind]} {self.source} 有 {len(self.errors)} 处错误，未写入任何数据："

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON form programs read (the same shape for every kind of file)."""
        return {
            "ok": False,
            "kind": str(self.kind),
            "source": self.source,
            "errors": [e.as_dict() for e in self.errors],
        }


PYDANTIC_MESSAGES = {
    "missing": "缺少必填字段",
    "extra_forbidden": "未知字段",
    "string_pattern_mismatch": "格式不符（只允许小写字母、数字和连字符）",
    "string_too_short": "不能为空",
    "string_too_long": "过长",
    "enum": "取值无效",
    "date_from_datetime_parsing": "不是 YYYY-MM-DD 日期",
    "date_parsing": "不是 YYYY-MM-DD 日期",
    "date_type": "不是日期",
    "timezone_aware": "时间必须带时区（如 +08:00）",
    "int_parsing": "不是整数",
    "int_type": "不是整数",
    "greater_than_equal": "过小",
    "greater_than": "应大于 {gt}",
    "literal_error": "取值无效",
    "less_than_equal": "过大",
    "list_type": "应为列表",
    "dict_type": "应为对象",
    "model_type": "应为对象",
    "string_type": "应为字符串",
    "control_character": "含有不可见的控制字符",
}


def json_path(loc: Sequence[Any]) -> str:
    """Render a pydantic location as a JSON path: ('events', 3, 'sessions', 0) → events[3].sessions[0]."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def pydantic_message(err: Mapping[str, Any]) -> str:
    """Say in Chinese what one pydantic error means, with the choices and the value received."""
    template = PYDANTIC_MESSAGES.get(err.get("type", ""))
    message = template.format(**err.get("ctx", {})) if template else err.get("msg", "无效")
    if err.get("type") in ("enum", "literal_error"):
        message += f"（可选：{err.get('ctx', {}).get('expected', '')}）"
    if err.get("type") != "missing" and "input" in err:
        message += f"，收到 {json.dumps(err['input'], ensure_ascii=False, default=str)[:120]}"
    return message


def located_errors(
    errors: Iterable[Mapping[str, Any]], *, where: Callable[[Sequence[Any]], str] = json_path
) -> list[LocatedError]:
    """Turn pydantic errors (`ValidationError.errors()`, FastAPI's too) into located Chinese errors."""
    return [LocatedError(where=where(tuple(err.get("loc", ()))), message=pydantic_message(err)) for err in errors]


# --- Single values: form fields, CSV cells, command-line arguments. ---

YEARS = range(2000, 2101)  # a plan, report or target year outside this is a typo (or an attack), never a wish
MAX_ID = 2**31 - 1  # the largest row id any table holds (PostgreSQL integer); beyond it nothing can match
MAX_PAGE = 100_000  # pages of a paginated list: more than any table will ever fill
MAX_INT_DIGITS = 18  # digits of an integer field (checked before int(), which refuses 4,301 digits with a traceback)
INVALID_VALUE = "无效值"  # shown instead of a stored value the current rules refuse (a target stored as Inf)
_INT = re.compile(rf"[+-]?[0-9]{{1,{MAX_INT_DIGITS}}}", re.ASCII)
_DECIMAL = re.compile(r"([+-]?)([0-9]{1,18})(?:\.([0-9]{1,18}))?", re.ASCII)
# C0 controls except tab, LF and CR; DEL; C1 controls. NUL crashes PostgreSQL, the others corrupt mail and CSVs.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_LINE_BREAK = re.compile(r"[\r\n\u2028\u2029]")
# What could end or smuggle a mail header line: every C0/C1 control (CR, LF, TAB, NUL …), DEL, U+2028/2029.
HEADER_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class ValueRefused(ValueError):
    """One form value or argument that cannot be used; the message says which and why, in Chinese."""


def text_problem(value: str, *, limit: int, multiline: bool = False) -> str | None:
    """Say what is wrong with a text (control characters, line breaks in a one-line field, length), else None."""
    if (m := _CONTROL.search(value)) is not None:
        return f"含有不可见的控制字符（U+{ord(m.group()):04X}，第 {m.start() + 1} 个字符），请删除后重试"
    if not multiline and (m := _LINE_BREAK.search(value)) is not None:
        return f"不能换行（第 {m.start() + 1} 个字符）"
    if len(value) > limit:
        return f"过长（最多 {limit} 字，现有 {len(value)} 字）"
    return None


def clean_text(value: str, *, label: str, limit: int, multiline: bool = False, required: bool = False) -> str:
    """Return the trimmed text (CRLF as LF) or raise ValueRefused naming `label`."""
    text = (value or "").strip().replace("\r\n", "\n")
    if required and not text:
        raise ValueRefused(f"请填写{label}")
    problem = text_problem(text, limit=limit, multiline=multiline)
    if problem is not None:
        raise ValueRefused(f"{label}{problem}")
    return text


def _shown(text: str) -> str:
    """Quote a refused value for a message: short, control characters escaped."""
    return repr(text[:20] + ("…" if len(text) > 20 else ""))


def parse_int(text: str, *, label: str, low: int, high: int) -> int:
    """Return the integer written in ASCII digits within [low, high]; raise ValueRefused otherwise."""
    raw = (text or "").strip()
    if not raw:
        raise ValueRefused(f"请填写{label}")
    if not _INT.fullmatch(raw) or not low <= int(raw) <= high:
        raise ValueRefused(f"{label} {_shown(raw)} 无效：应为 {low} 到 {high} 之间的整数（半角数字）")
    return int(raw)


def parse_decimal(text: str, *, label: str, low: Decimal, high: Decimal, places: int = 2) -> Decimal:
    """Return the finite decimal written in ASCII digits within [low, high] with at most `places` decimals."""
    raw = (text or "").strip().replace(",", "")
    if not raw:
        raise ValueRefused(f"请填写{label}")
    m = _DECIMAL.fullmatch(raw)
    if m is None or not low <= Decimal(raw) <= high:
        raise ValueRefused(
            f"{label} {_shown(raw)} 无效：应为 {low:f} 到 {high:f} 之间的数字（半角数字，不用科学计数法）"
        )
    if len(m.group(3) or "") > places:
        raise ValueRefused(f"{label} {_shown(raw)} 无效：最多 {places} 位小数")
    return Decimal(raw)


def parse_year(text: str, *, label: str = "年度") -> int:
    """Return a year within YEARS (2000–2100) written in ASCII digits; raise ValueRefused otherwise."""
    return parse_int(text, label=label, low=YEARS.start, high=YEARS.stop - 1)


def usable_decimal(value: Any, *, high: Decimal) -> Decimal | None:
    """Return a stored number as a Decimal when finite and within ±`high`, else None (shown as 「无效值」)."""
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (ArithmeticError, ValueError):
        return None
    return number if number.is_finite() and abs(number) <= high else None


def no_control_characters(value: str) -> str:
    """Refuse (as a pydantic error) a string holding NUL or control characters; tab and line breaks may stay."""
    if (m := _CONTROL.search(value)) is not None:
        code = f"{ord(m.group()):04X}"
        raise PydanticCustomError("control_character", "含有不可见的控制字符 U+{code}", {"code": code})
    return value


# --- Files: one reader for every importer, then decoding and parsing with located errors. ---

READ_TIMEOUT_S = 10.0
_CHUNK = 1 << 16
_FILE_TYPES = ((stat.S_ISDIR, "是目录"), (stat.S_ISFIFO, "是管道（FIFO）"), (stat.S_ISCHR, "是字符设备"),
               (stat.S_ISBLK, "是块设备"), (stat.S_ISSOCK, "是套接字"))


def read_input_file(path: Path, *, limit: int, kind: FileKind, timeout: float = READ_TIMEOUT_S) -> bytes:
    """Read a whole regular file of at most `limit` bytes within `timeout` seconds; raise InputInvalid otherwise.

    The file is opened without blocking (a FIFO without a writer would wait forever) and checked by its open
    descriptor, so a path swapped for a device between check and read is still refused.
    """
    source = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise InputInvalid(source, "无法读取文件：文件不存在", kind=kind) from None
    except OSError as exc:
        raise InputInvalid(source, f"无法读取文件：{exc.strerror or exc}", kind=kind) from None
    try:
        info = os.fstat(fd)
        for test, what in _FILE_TYPES:
            if test(info.st_mode):
                raise InputInvalid(source, f"{what}，不是普通文件，未读取", kind=kind)
        if not stat.S_ISREG(info.st_mode):
            raise InputInvalid(source, "不是普通文件，未读取", kind=kind)
        if info.st_size > limit:
            raise InputInvalid(source, f"文件过大（{info.st_size} 字节，上限 {limit} 字节）", kind=kind)
        return _read_bounded(fd, source=source, limit=limit, kind=kind, deadline=time.monotonic() + timeout)
    except OSError as exc:
        raise InputInvalid(source, f"无法读取文件：{exc.strerror or exc}", kind=kind) from None
    finally:
        os.close(fd)


def _read_bounded(fd: int, *, source: str, limit: int, kind: FileKind, deadline: float) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while chunk := os.read(fd, _CHUNK):
        total += len(chunk)
        if total > limit:  # the file grew while being read
            raise InputInvalid(source, f"文件过大（超过上限 {limit} 字节）", kind=kind)
        if time.monotonic() > deadline:
            raise InputInvalid(source, "读取超时，未读取", kind=kind)
        chunks.append(chunk)
    return b"".join(chunks)


def decode_utf8(data: bytes, *, source: str, kind: FileKind) -> str:
    """Decode UTF-8 (a BOM is dropped); refuse other encodings naming the line and byte offset."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        bad = data[exc.start : exc.start + 1]
        message = f"不是 UTF-8 编码（字节偏移 {exc.start} 处的 {bad!r}），请另存为 UTF-8 后重试"
        raise InputInvalid(source, [LocatedError(where=f"第 {line} 行", message=message)], kind=kind) from None


MAX_NESTING = 32  # levels of [ and { in a TOML file: a real one uses three
_LONG_NUMBER = re.compile(r"[0-9_]{1000,}", re.ASCII)


def _line_of(text: str, offset: int) -> str:
    return f"第 {text.count(chr(10), 0, offset) + 1} 行"


def _too_deep(text: str) -> int:
    """Return where bracket nesting first passes MAX_NESTING (quoted text skipped roughly), else 0."""
    depth, quote = 0, ""
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch in (quote, "\n") else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
            if depth > MAX_NESTING:
                return i
        elif ch in "]}":
            depth -= 1
    return 0


def load_toml(text: str, *, source: str, kind: FileKind) -> dict[str, Any]:
    """Parse TOML; refuse syntax errors, deep nesting and over-long numbers with the line they are on."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputInvalid(source, f"TOML 格式错误：{exc}", kind=kind) from None
    except RecursionError:
        problem = LocatedError(where=_line_of(text, _too_deep(text)), message=f"嵌套过深（超过 {MAX_NESTING} 层）")
    except ValueError:  # int() refuses more than 4,300 digits
        m = _LONG_NUMBER.search(text)
        where, size = (_line_of(text, m.start()), len(m.group())) if m else ("", 0)
        problem = LocatedError(where=where, message=f"数字过长（{size} 位）" if size else "数字过长")
    raise InputInvalid(source, [problem], kind=kind)


MAX_CSV_FIELD = 4096  # characters in one CSV cell: a name, a number, a note


def csv_rows(text: str, *, source: str, kind: FileKind, width: int) -> Iterator[tuple[str, list[str]]]:
    """Yield (第 N 行, cells) of a CSV; refuse a row wider than `width`, an over-long cell or broken quoting."""
    reader = csv.reader(io.StringIO(text))
    start = 1  # the line the current row begins on: a quoted cell may span lines
    try:
        for cells in reader:
            where = f"第 {start} 行"
            if len(cells) > width and any(c.strip() for c in cells[width:]):
                message = f"多出 {len(cells) - width} 列（每行最多 {width} 列）"
                raise InputInvalid(source, [LocatedError(where=where, message=message)], kind=kind)
            if any(len(c) > MAX_CSV_FIELD for c in cells):
                message = f"单元格过长（最多 {MAX_CSV_FIELD} 字）"
                raise InputInvalid(source, [LocatedError(where=where, message=message)], kind=kind)
            start = reader.line_num + 1
            yield where, cells[:width]
    except csv.Error as exc:  # the csv module's own cell limit (128 KiB) ends here, before ours can count
        where = f"第 {start} 行"
        message = f"单元格过长（最多 {MAX_CSV_FIELD} 字）" if "field limit" in str(exc) else f"CSV 格式错误：{exc}"
        raise InputInvalid(source, [LocatedError(where=where, message=message)], kind=kind) from None


def control_character_errors(value: Any, *, where: str = "") -> list[LocatedError]:
    """Locate every string (keys included) in parsed JSON/TOML data that holds NUL or control characters."""
    errors: list[LocatedError] = []
    stack: list[tuple[Any, str]] = [(value, where)]
    while stack:
        item, at = stack.pop()
        if isinstance(item, str):
            if (m := _CONTROL.search(item)) is not None:
                message = f"含有不可见的控制字符 U+{ord(m.group()):04X}"
                errors.append(LocatedError(where=at, message=message))
        elif isinstance(item, dict):
            for key, child in item.items():
                path = f"{at}.{key}" if at else str(key)
                stack.append((key, path))
                stack.append((child, path))
        elif isinstance(item, list):
            stack.extend((child, f"{at}[{i}]") for i, child in enumerate(item))
    return sorted(errors, key=lambda e: e.where)
