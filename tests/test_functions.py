"""Terraform's standard functions (zenctl.config.functions): values and messages as Terraform
gives them, argument checks, and the file functions against a temporary project folder."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from zenctl.config.conversions import to_string
from zenctl.config.functions import FUNCTION_NAMES, READS_FILES, FunctionError, call


class _Context:
    """A project folder; templates replace `${name}` by the variable, which is enough to see
    that templatefile hands over the file's text and the variables."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def render_template(self, text: str, variables: dict[str, Any]) -> Any:
        if text.startswith("nested:"):
            return call("templatefile", [text.removeprefix("nested:"), {}], self)
        for name, value in variables.items():
            text = text.replace("${" + name + "}", to_string(value))
        return text


def _call(name: str, *args: Any, root: Path = Path("/nonexistent")) -> Any:
    return call(name, list(args), _Context(root))


def _exactly(got: Any, want: Any) -> bool:
    """Equal with the same types, and numbers written alike (`3` is not `3.0`)."""
    if isinstance(want, list):
        return isinstance(got, list) and len(got) == len(want) and all(map(_exactly, got, want))
    if isinstance(want, dict):
        return (
            isinstance(got, dict)
            and got.keys() == want.keys()
            and all(_exactly(got[key], want[key]) for key in want)
        )
    return type(got) is type(want) and str(got) == str(want)


VALUES = [
    # format: Terraform's documented examples and go-cty's verbs
    ("format", ["Hello, %s!", "Ander"], "Hello, Ander!"),
    ("format", ["There are %d lights", D(4)], "There are 4 lights"),
    ("format", ["%.2f", D("3.14159")], "3.14"),
    (
        "format",
        ["%5.2f|%-6d|%06d|%+d|% d", D("3.14159"), D(42), D(-42), D(5), D(5)],
        " 3.14|42    |-00042|+5| 5",
    ),
    (
        "format",
        ["%x %X %o %b %#x %#o", D(254), D(254), D(9), D(5), D(255), D(8)],
        "fe FE 11 101 0xff 010",
    ),
    (
        "format",
        ["%e %E %g %G", D(1000), D(1000), D(1000), D("0.00000000000000000000001")],
        "1.000000e+03 1.000000E+03 1000 1E-23",
    ),
    (
        "format",
        ["%.1f %.0f %.0f %.2f", D("1.06"), D("2.5"), D("3.5"), D("-0.001")],
        "1.1 2 4 -0.00",
    ),
    (
        "format",
        ["%.3g %.3g %g %.0e", D(1000), D("0.0001234"), D(0), D(15)],
        "1e+03 0.000123 0 2e+01",
    ),
    (
        "format",
        ["%f", "100000000000000000000000000000000000001"],
        "100000000000000000000000000000000000001.000000",
    ),
    (
        "format",
        ["%v %v %v %v", D(1000000), D("1.5"), D(123456789), D(-2)],
        "1e+06 1.5 1.23456789e+08 -2",
    ),
    (
        "format",
        ["%v %v %v %#v %v", True, None, [D(1), "a"], "hi", {"b": D(1), "a": "<"}],
        'true null [1,"a"] "hi" {"a":"\\u003c","b":1}',
    ),
    (
        "format",
        [
            "%q|%6q|%-6q|%.2s|%4.2s|%-4.2s|%.2q",
            "a\nb",
            "x",
            "x",
            "hello",
            "hello",
            "hello",
            "hello",
        ],
        '"a\\nb"|   "x"|"x"   |he|  he|he  |"he"',
    ),
    (
        "format",
        ["%10s|%-10s|%4s|%-05s", "hello", "hello", "💃🏿", "ab"],
        "     hello|hello     |   💃🏿|ab000",
    ),
    ("format", ["%.5s", "日本語日本語"], "日本語日本"),
    ("format", ["%s %t %s %t", D(1), True, False, "false"], "1 true false false"),
    ("format", ["Hello, %[2]s! %s", "Stephen", "Ermintrude", "!"], "Hello, Ermintrude! !"),
    ("format", ["100%% %s", "done"], "100% done"),
    ("format", ["%d", "12"], "12"),
    ("formatlist", ["Hello, %s!", ["Valentina", "Ander"]], ["Hello, Valentina!", "Hello, Ander!"]),
    (
        "formatlist",
        ["%s, %s!", "Salutations", ["Valentina", "Ander"]],
        ["Salutations, Valentina!", "Salutations, Ander!"],
    ),
    ("formatlist", ["%s", []], []),
    ("formatlist", ["plain"], ["plain"]),
    # strings
    ("join", [", ", ["foo", "bar", "baz"]], "foo, bar, baz"),
    ("join", ["-", ["a", D(1)], [True]], "a-1-true"),
    ("split", [",", "foo,bar,baz"], ["foo", "bar", "baz"]),
    ("split", [",", ""], [""]),
    ("split", ["", "abc"], ["a", "b", "c"]),
    ("replace", ["1 + 2 + 3", "+", "-"], "1 - 2 - 3"),
    ("replace", ["hello world", "/w.*d/", "everybody"], "hello everybody"),
    ("replace", ["abc", "/(b)/", "[$1|$$|${1}x|$9|$name]"], "a[b|$|bx||]c"),
    ("replace", ["baaac", "/a*/", "-"], "-b-c-"),
    ("replace", ["abc", "", "-"], "-a-b-c-"),
    ("lower", ["HELLO"], "hello"),
    ("upper", ["hello ß"], "HELLO ß"),
    ("upper", [D(5)], "5"),
    ("title", ["hello world-foo_bar 3d éclair"], "Hello World-Foo_bar 3d Éclair"),
    ("trimspace", ["  hello\n\t"], "hello"),
    ("trimspace", ["\x1chi"], "\x1chi"),
    ("trim", ["?!hello?!", "!?"], "hello"),
    ("trimprefix", ["helloworld", "hello"], "world"),
    ("trimprefix", ["helloworld", "cat"], "helloworld"),
    ("trimsuffix", ["helloworld", "world"], "hello"),
    ("substr", ["hello world", D(1), D(4)], "ello"),
    ("substr", ["🤔🤷", D(0), D(1)], "🤔"),
    ("substr", ["hello world", D(-5), D(3)], "wor"),
    ("substr", ["hello world", D(6), D(-1)], "world"),
    ("substr", ["hello", D(10), D(2)], ""),
    ("substr", ["hello", D(-10), D(2)], "he"),
    ("substr", ["e\u0301te\u0301", D(0), D(2)], "e\u0301t"),
    ("strrev", ["hello"], "olleh"),
    ("strrev", ["ae\u0301"], "e\u0301a"),
    ("startswith", ["hello world", "hello"], True),
    ("startswith", ["hello world", "world"], False),
    ("endswith", ["hello world", "world"], True),
    ("strcontains", ["hello world", "o w"], True),
    ("chomp", ["hello\r\n\n"], "hello"),
    ("chomp", ["hello\nworld"], "hello\nworld"),
    ("indent", [D(2), "[\n  foo,\n]"], "[\n    foo,\n  ]"),
    ("regex", ["[a-z]+", "53453453.345345aaabbbccc23454"], "aaabbbccc"),
    ("regex", [r"(\d\d\d\d)-(\d\d)-(\d\d)", "2019-02-01"], ["2019", "02", "01"]),
    (
        "regex",
        ["^(?:(?P<scheme>[^:/?#]+):)?(?://(?P<authority>[^/?#]*))?", "https://terraform.io/docs/"],
        {"scheme": "https", "authority": "terraform.io"},
    ),
    ("regex", ["(a)|(b)", "b"], [None, "b"]),
    ("regex", [r"(?<word>\pL+)", "héllo!"], {"word": "héllo"}),
    ("regex", ["(?m)abc$", "abc\n"], "abc"),
    ("regexall", ["[a-z]+", "1234abcd5678efgh9"], ["abcd", "efgh"]),
    ("regexall", ["[a-z]+", "1234"], []),
    ("regexall", ["a*", "baaac"], ["", "aaa", ""]),
    # collections
    ("length", ["e\u0301x"], D(2)),
    ("length", [[D(1), D(2)]], D(2)),
    ("length", [{"a": D(1)}], D(1)),
    ("concat", [["a", "b"], ["c", D(1)]], ["a", "b", "c", D(1)]),
    ("merge", [{"a": "b", "c": "d"}, None, {"e": "f", "c": "z"}], {"a": "b", "c": "z", "e": "f"}),
    ("merge", [], {}),
    ("lookup", [{"a": "ay", "b": "bee"}, "a", "what?"], "ay"),
    ("lookup", [{"a": "ay", "b": "bee"}, "c", "what?"], "what?"),
    ("lookup", [{"a": "ay"}, "c", None], None),
    ("contains", [["a", "b", "c"], "a"], True),
    ("contains", [["a", "b", "c"], "d"], False),
    ("contains", [[D(1)], D("1.0")], True),
    ("contains", [[D(1)], "1"], False),
    ("index", [["a", "b", "c"], "b"], D(1)),
    ("keys", [{"d": D(1), "a": D(2), "c": D(3)}], ["a", "c", "d"]),
    ("values", [{"d": D(1), "a": D(2), "c": D(3)}], [D(2), D(3), D(1)]),
    ("range", [D(3)], [D(0), D(1), D(2)]),
    ("range", [D(1), D(4)], [D(1), D(2), D(3)]),
    ("range", [D(1), D(8), D(2)], [D(1), D(3), D(5), D(7)]),
    ("range", [D(4), D(1)], [D(4), D(3), D(2)]),
    ("range", [D(-3)], [D(0), D(-1), D(-2)]),
    ("range", [D(10), D(5), D(-2)], [D(10), D(8), D(6)]),
    ("range", [D(0), D(1), D("0.25")], [D(0), D("0.25"), D("0.50"), D("0.75")]),
    ("range", [D(0)], []),
    ("flatten", [[["a", "b"], [], ["c", [["d"]]], None]], ["a", "b", "c", "d", None]),
    ("zipmap", [["a", "b"], [D(1), D(2)]], {"a": D(1), "b": D(2)}),
    ("element", [["a", "b", "c"], D(1)], "b"),
    ("element", [["a", "b", "c"], D(3)], "a"),
    ("element", [["a", "b", "c"], D(-1)], "c"),
    ("slice", [["a", "b", "c", "d"], D(1), D(3)], ["b", "c"]),
    ("slice", [["a"], D(1), D(1)], []),
    ("distinct", [["a", "b", "a", "c", "d", "b"]], ["a", "b", "c", "d"]),
    ("distinct", [["1", D(1), D("1.0")]], ["1"]),
    ("sort", [["e", "d", "a", "x"]], ["a", "d", "e", "x"]),
    ("sort", [[D(10), D(9)]], ["10", "9"]),
    ("reverse", [[D(1), D(2), D(3)]], [D(3), D(2), D(1)]),
    ("compact", [["a", "", "b", None, "c"]], ["a", "b", "c"]),
    ("coalesce", ["a", "b"], "a"),
    ("coalesce", ["", "b"], "b"),
    ("coalesce", [None, D(2)], D(2)),
    ("coalesce", [D(1), "2"], "1"),
    ("coalescelist", [["a", "b"], ["c", "d"]], ["a", "b"]),
    ("coalescelist", [None, [], ["c", "d"]], ["c", "d"]),
    ("one", [[]], None),
    ("one", [["hello"]], "hello"),
    ("alltrue", [[True, "true"]], True),
    ("alltrue", [[True, None]], False),
    ("alltrue", [[]], True),
    ("anytrue", [[False, None, True]], True),
    ("anytrue", [[]], False),
    ("sum", [[D(10), D("2.5"), "3"]], D("15.5")),
    ("setunion", [["a", "b"], ["b", "c"], ["d"]], ["a", "b", "c", "d"]),
    ("setunion", [[D(3), D(1)], ["a"]], ["1", "3", "a"]),
    ("setintersection", [["a", "b"], ["b", "c"], ["b", "d"]], ["b"]),
    ("setsubtract", [["a", "b", "c"], ["a", "c"]], ["b"]),
    # numbers
    ("min", [D(12), D(54), D(3)], D(3)),
    ("max", [D(12), D("54.5"), "3"], D("54.5")),
    ("abs", [D("-12.4")], D("12.4")),
    ("abs", [D(0)], D(0)),
    ("ceil", [D("5.1")], D(6)),
    ("ceil", [D("-5.1")], D(-5)),
    ("ceil", [D("5.0")], D(5)),
    ("floor", [D("4.9")], D(4)),
    ("floor", [D("-4.1")], D(-5)),
    ("floor", [D("1E+3")], D(1000)),
    ("signum", [D(-13)], D(-1)),
    ("signum", [D(0)], D(0)),
    ("signum", [D("0.5")], D(1)),
    ("pow", [D(3), D(2)], D(9)),
    ("pow", [D(2), D(-1)], D("0.5")),
    ("pow", [D(0), D(0)], D(1)),
    ("pow", [D("1.5"), D(2)], D("2.25")),
    ("log", [D(16), D(2)], D(4)),
    ("log", [D(8), D(2)], D(3)),
    ("parseint", ["100", D(10)], D(100)),
    ("parseint", ["FF", D(16)], D(255)),
    ("parseint", ["-10", D(16)], D(-16)),
    ("parseint", ["1011111011101111", D(2)], D(48879)),
    ("parseint", ["aA", D(62)], D(656)),
    ("parseint", ["zz", D(36)], D(1295)),
    # type conversions
    ("tostring", [D("1.50")], "1.5"),
    ("tostring", [True], "true"),
    ("tostring", [None], None),
    ("tonumber", ["1.5"], D("1.5")),
    ("tonumber", [D(1)], D(1)),
    ("tobool", ["false"], False),
    ("tolist", [["a", D(1), True]], ["a", "1", "true"]),
    ("tomap", [{"a": D(1), "b": "x"}], {"a": "1", "b": "x"}),
    ("toset", [["c", "b", "c", D(3)]], ["3", "b", "c"]),
    ("toset", [[D(3), D(1), D("1.0")]], [D(1), D(3)]),
    ("toset", [[True, False, True]], [False, True]),
    # encodings
    ("jsonencode", [{"hello": "world"}], '{"hello":"world"}'),
    (
        "jsonencode",
        [{"b": [D(1), D("1.0"), D("1.5"), D("1e3"), None, True], "a": "<&>"}],
        '{"a":"\\u003c\\u0026\\u003e","b":[1,1,1.5,1000,null,true]}',
    ),
    ("jsonencode", [None], "null"),
    ("jsondecode", ['{"hello": "world"}'], {"hello": "world"}),
    (
        "jsondecode",
        ["[1, 1.0, 1e3, 0.1, 12345678901234567890123456789, null, true]"],
        [D(1), D("1.0"), D("1000.0"), D("0.1"), D("12345678901234567890123456789"), None, True],
    ),
    ("jsondecode", ['"x"'], "x"),
    ("yamlencode", [{"a": "b", "c": "d"}], '"a": "b"\n"c": "d"\n'),
    (
        "yamlencode",
        [{"foo": [D(1), {"a": "b", "c": "d"}, D(3)], "bar": "baz"}],
        '"bar": "baz"\n"foo":\n- 1\n- "a": "b"\n  "c": "d"\n- 3\n',
    ),
    ("yamlencode", [""], '""\n'),
    ("yamlencode", [True], "true\n...\n"),
    ("yamlencode", ["hello\nworld"], "|-\n  hello\n  world\n"),
    ("yamlencode", [[]], "[]\n"),
    ("yamlencode", [None], "null\n...\n"),
    ("yamldecode", ["hello: world"], {"hello": "world"}),
    (
        "yamldecode",
        ["[yes, n, on, Off, 017, 0x1F, 0o17, 1_000, 0b1, 1.5, .5, ~, '1']"],
        [
            True,
            False,
            True,
            False,
            D(17),
            D(31),
            D(15),
            "1_000",
            "0b1",
            D("1.5"),
            D("0.5"),
            None,
            "1",
        ],
    ),
    ("yamldecode", ["1: one\ntrue: yes\n"], {"1": "one", "true": True}),
    (
        "yamldecode",
        ["[2001-12-14, 2001-12-14t21:59:43.10-05:00, 2001-12-14 21:59:43]"],
        ["2001-12-14T00:00:00Z", "2001-12-14T21:59:43-05:00", "2001-12-14T21:59:43Z"],
    ),
    (
        "yamldecode",
        ["base: &b {x: 1}\nd:\n  <<: *b\n  z: 2\n"],
        {"base": {"x": D(1)}, "d": {"x": D(1), "z": D(2)}},
    ),
    ("yamldecode", ["!!binary aGVsbG8="], "aGVsbG8="),
    ("base64encode", ["Hello World"], "SGVsbG8gV29ybGQ="),
    ("base64decode", ["SGVsbG8gV29ybGQ="], "Hello World"),
    ("base64decode", ["SGVs\nbG8="], "Hello"),
    ("urlencode", ["Hello World!/~é"], "Hello+World%21%2F~%C3%A9"),
]


@pytest.mark.parametrize(("name", "args", "want"), VALUES)
def test_function_values(name: str, args: list[Any], want: Any) -> None:
    got = _call(name, *args)
    assert _exactly(got, want), f"{name}{tuple(args)!r} gave {got!r}, not {want!r}"


ERRORS = [
    # (name, args, the parameter at fault or None, what the message says)
    ("upper", [], None, 'Function "upper" expects 1 argument(s). Missing value for "str".'),
    ("upper", ["a", "b"], None, 'Function "upper" expects only 1 argument(s).'),
    ("lookup", [{}], None, 'Function "lookup" expects at least 2 argument(s). Missing value'),
    ("upper", [[D(1)]], "str", "a string is required, got a list"),
    ("upper", [None], "str", "argument must not be null"),
    ("join", [",", ["a"], None], "lists", "argument must not be null"),
    ("format", ["%s"], None, 'not enough arguments for "%s" at 0: need index 1 but have 0 total'),
    (
        "format",
        ["%v %v %v", True, True],
        None,
        'not enough arguments for "%v" at 6: need index 3 but have 2 total',
    ),
    ("format", ["%[3]s", True, True], None, 'not enough arguments for "%[3]s" at 0: need index 3'),
    ("format", ["%[0]s", True], None, "unrecognized format character '0' at offset 2"),
    ("format", ["%z", D(1)], None, """unsupported format verb 'z' in "%z" at offset 0"""),
    ("format", ["%💃🏿", D(1)], None, "unrecognized format character '💃' at offset 1"),
    ("format", ["é%☠", D(1)], None, "unrecognized format character '☠' at offset 3"),
    ("format", ["abc%"], None, "invalid format string starting at offset 4"),
    ("format", ["no verbs", D(1)], "args", "too many arguments; no verbs in format string"),
    ("format", ["%d", D(1), D(2)], "args", "too many arguments; only 1 used by format string"),
    ("format", ["%d", True], None, 'unsupported value for "%d" at 0: a number is required'),
    ("format", ["%d", D("1.5")], None, 'unsupported value for "%d" at 0: an integer is required'),
    ("format", ["x %t", None], None, 'unsupported value for "%t" at 2: null value cannot be'),
    ("format", ["%s", {"a": "b"}], None, 'unsupported value for "%s" at 0: a string is required'),
    ("format", [None], "format", "argument must not be null"),
    (
        "formatlist",
        ["%s %s", ["a"], ["b", "c"]],
        "args",
        "argument 2 has length 2, which is inconsistent with argument 1 of length 1",
    ),
    ("formatlist", ["%s", [["a"]]], None, "error on format iteration 0: unsupported value"),
    ("join", [","], None, 'Call to function "join" failed: at least one list is required.'),
    ("join", [",", ["a", None]], "lists", "element 1 is null; cannot concatenate null values"),
    ("join", [",", ["a"], ["b", None]], "lists", "element 1 of list 2 is null"),
    ("replace", ["abc", "/(/", "x"], "substr", "invalid regexp pattern"),
    (
        "substr",
        ["hello", D("1.5"), D(1)],
        "offset",
        "value must be a whole number, between -9223372036854775808 and 9223372036854775807",
    ),
    ("indent", [D(-1), "a"], "spaces", "must not be negative"),
    ("regex", ["(a)(?P<x>b)", "ab"], "pattern", "cannot mix both named and unnamed capture"),
    ("regex", ["z", "abc"], None, "pattern did not match any part of the given string"),
    ("regex", ["abc$", "abc\n"], None, "pattern did not match"),
    ("regex", ["[", "abc"], "pattern", "invalid regexp pattern"),
    ("length", [D(1)], "value", "argument must be a string, a collection type, or a structural"),
    ("length", [None], "value", "argument must not be null"),
    ("concat", [], None, "at least one argument is required"),
    ("concat", [["a"], "b"], "seqs", "all arguments must be lists or tuples; got string"),
    ("merge", ["x"], "maps", 'arguments must be maps or objects, got "string"'),
    ("lookup", [{"a": "x"}, "b"], "inputMap", 'the given object has no attribute "b"'),
    ("lookup", [{"a": "x"}, "b", D(1), D(2)], None, "lookup() takes two or three arguments, got 4"),
    ("lookup", [["a"], "b"], "inputMap", "lookup() requires a map as the first argument"),
    ("contains", ["abc", "a"], "list", "argument must be list, tuple, or set"),
    ("index", [[], "b"], "list", "cannot search an empty list"),
    ("index", [["a"], "b"], None, "item not found"),
    ("keys", [["a"]], "inputMap", "must have map or object type"),
    ("values", ["a"], "mapping", "values() requires a map as the first argument"),
    ("range", [], None, "must have one, two, or three arguments"),
    ("range", [D(1), D(2), D(3), D(4)], None, "must have one, two, or three arguments"),
    ("range", [D(1), D(2), D(0)], "params", "step must not be zero"),
    ("range", [D(5), D(1), D(1)], "params", "end must be greater than start when step is positive"),
    ("range", [D(1), D(5), D(-1)], "params", "end must be less than start when step is negative"),
    ("range", [D(1025)], None, "more than 1024 values were generated"),
    ("range", ["x"], "params", "a number is required"),
    ("flatten", ["x"], "list", "can only flatten lists, sets and tuples"),
    (
        "zipmap",
        [["a"], [D(1), D(2)]],
        None,
        "number of keys (1) does not match number of values (2)",
    ),
    ("zipmap", [[None], [D(1)]], "keys", "keys list has null value at index 0"),
    ("zipmap", [["a"], "x"], "values", "values argument must be a list or tuple value"),
    ("element", [[], D(0)], "list", "cannot use element function with an empty list"),
    ("element", [["a"], D("0.5")], "index", "invalid index: value must be a whole number"),
    ("element", ["x", D(0)], "list", "cannot read elements from string"),
    ("slice", [["a"], D(-1), D(1)], "start_index", "start index must not be less than zero"),
    (
        "slice",
        [["a"], D(2), D(1)],
        "start_index",
        "start index must not be greater than the length of the list",
    ),
    (
        "slice",
        [["a", "b"], D(2), D(1)],
        "start_index",
        "start index must not be greater than end index",
    ),
    (
        "slice",
        [["a"], D(0), D(5)],
        "end_index",
        "end index must not be greater than the length of the list",
    ),
    ("slice", ["a", D(0), D(0)], "list", "must be a list or tuple value"),
    ("distinct", [["a", ["b"]]], "list", "all list elements must have the same type"),
    ("sort", [["a", None]], None, "given list element 1 is null; a null string cannot be sorted"),
    ("reverse", ["ab"], "list", "can only reverse list or tuple values, not string"),
    ("coalesce", ["", None], None, "no non-null, non-empty-string arguments"),
    ("coalesce", [[D(1)], "a"], None, "all arguments must have the same type"),
    ("coalescelist", ["x"], "vals", "coalescelist arguments must be lists or tuples"),
    ("coalescelist", [[], []], None, "no non-null arguments"),
    ("one", [["a", "b"]], "list", "with either zero or one elements"),
    ("alltrue", [[D(1)]], "list", "a bool is required, got a number"),
    ("sum", [[]], "list", "cannot sum an empty list"),
    ("sum", [["x"]], "list", "argument must be list, set, or tuple of number values"),
    ("setunion", [[["a"]], ["b"]], None, "given sets must all have compatible element types"),
    ("setsubtract", [["a"], "b"], "b", "a set is required, got a string"),
    ("min", [], None, "must pass at least one number"),
    ("max", [True], "numbers", "a number is required, got a bool"),
    ("pow", [D(0), D(-1)], None, "zero cannot be raised to a negative power"),
    ("pow", [D(-8), D("0.5")], None, "a negative number cannot be raised to a fractional power"),
    ("pow", [D(10), D(10000000)], None, 'Call to function "pow" failed: the result is too large'),
    ("log", [D(0), D(10)], "num", "greater than zero"),
    ("log", [D(10), D(1)], "base", "the base must be greater than zero and not 1"),
    ("parseint", ["12", D(2)], "number", 'cannot parse "12" as a base 2 integer'),
    ("parseint", ["1_0", D(10)], "number", 'cannot parse "1_0" as a base 10 integer'),
    ("parseint", ["", D(10)], "number", 'cannot parse "" as a base 10 integer'),
    ("parseint", [D(12), D(10)], "number", "first argument must be a string, not number"),
    ("parseint", ["12", D(63)], "base", "base must be a whole number between 2 and 62 inclusive"),
    ("tostring", [["a"]], "v", "cannot convert list to string"),
    ("tonumber", ["hunter2"], "v", "cannot convert this string to number"),
    ("tonumber", [True], "v", "cannot convert bool to number"),
    ("tobool", ["yes"], "v", 'only the strings "true" or "false" are allowed'),
    ("tobool", [D(1)], "v", "cannot convert number to bool"),
    ("tolist", [["a", ["b"]]], "v", "cannot convert list to list of any single type"),
    ("tolist", ["a"], "v", "cannot convert string to list of any single type"),
    ("tomap", [["a"]], "v", "cannot convert list to map of any single type"),
    ("toset", [{"a": "b"}], "v", "cannot convert object to set of any single type"),
    ("jsondecode", ['{"a": 1, "a": 2}'], "str", 'duplicate "a" property in JSON object'),
    ("jsondecode", ["[1] x"], "str", "extraneous data after JSON object"),
    ("jsondecode", ["{"], "str", "at line 1, column 2"),
    ("jsondecode", ["NaN"], "str", "NaN is not a JSON value"),
    ("yamldecode", ["a: 1\n---\nb: 2"], "src", "on line 2, column 1: only a single document"),
    ("yamldecode", [""], "src", "expecting value but found end of stream"),
    ("yamldecode", ["a: [1"], "src", "on line 1, column 6: "),
    ("yamldecode", ["&a [*a]"], "src", "an alias refers to its anchor from inside its definition"),
    ("yamldecode", ["!!set {a, b}"], "src", "on line 1, column 1: could not determine a"),
    ("yamldecode", ["x: .nan"], "src", "floating point NaN is not supported"),
    ("yamldecode", ["x: .inf"], "src", "floating point infinity is not supported"),
    ("yamldecode", ["? [a]\n: 1"], "src", "only strings are allowed as mapping keys"),
    ("yamldecode", ["null: 1"], "src", "mapping key cannot be null"),
    ("yamldecode", ["!!binary 'notbase64!'"], "src", "failed to decode base64 data"),
    ("base64decode", ["SGVsbG8"], "str", "failed to decode base64 data"),
    ("base64decode", ["/w=="], "str", "the result of decoding the provided string is not valid"),
    ("try", [D(1)], None, "evaluated by the expression evaluator"),
    ("nosuchfunction", [], None, 'There is no function named "nosuchfunction".'),
]


@pytest.mark.parametrize(("name", "args", "param", "message"), ERRORS)
def test_function_errors(name: str, args: list[Any], param: str | None, message: str) -> None:
    with pytest.raises(FunctionError) as caught:
        _call(name, *args)
    assert caught.value.param == param
    assert message in str(caught.value)
    text = str(caught.value)
    assert "Decimal" not in text and "Error" not in text and "Traceback" not in text
    if param is None and not text.startswith(("Function ", "There is")):
        assert text.startswith(f'Call to function "{name}" failed: ') and text.endswith(".")


def test_conversion_errors_never_quote_the_value() -> None:
    secret = "hunter2-SECRET"
    for name, args in (
        ("tonumber", [secret]),
        ("tobool", [secret]),
        ("format", ["%d", secret]),
        ("base64decode", [secret]),
        ("abs", [secret]),
        ("alltrue", [[secret]]),
    ):
        with pytest.raises(FunctionError) as caught:
            _call(name, *args)
        assert "SECRET" not in str(caught.value), name


def test_log_and_pow_compute_exactly_where_they_can() -> None:
    assert _call("log", D(50), D(10)).quantize(D("1E-20")) == D("1.69897000433601880479")
    assert _call("pow", D(2), D("0.5")).quantize(D("1E-20")) == D("1.41421356237309504880")
    assert _call("pow", D(4), D("0.5")) == 2
    assert _call("log", D(1000), D(10)) == 3


# One call per function, so a function added to FUNCTION_NAMES without a way to call it fails.
SAMPLES: dict[str, list[Any]] = {
    "abs": [D(-1)],
    "alltrue": [[True]],
    "anytrue": [[True]],
    "base64decode": ["YQ=="],
    "base64encode": ["a"],
    "ceil": [D("1.5")],
    "chomp": ["a\n"],
    "coalesce": [None, "a"],
    "coalescelist": [[], ["a"]],
    "compact": [["a", ""]],
    "concat": [["a"], ["b"]],
    "contains": [["a"], "a"],
    "distinct": [["a", "a"]],
    "element": [["a"], D(0)],
    "endswith": ["ab", "b"],
    "file": ["hello.txt"],
    "filebase64": ["hello.txt"],
    "fileexists": ["hello.txt"],
    "flatten": [[["a"]]],
    "floor": [D("1.5")],
    "format": ["%s", "a"],
    "formatlist": ["%s", ["a"]],
    "indent": [D(1), "a\nb"],
    "index": [["a"], "a"],
    "join": ["-", ["a", "b"]],
    "jsondecode": ["[]"],
    "jsonencode": [[]],
    "keys": [{"a": D(1)}],
    "length": ["ab"],
    "log": [D(8), D(2)],
    "lookup": [{"a": D(1)}, "a"],
    "lower": ["A"],
    "max": [D(1)],
    "merge": [{"a": D(1)}],
    "min": [D(1)],
    "one": [["a"]],
    "parseint": ["7", D(8)],
    "pow": [D(2), D(3)],
    "range": [D(2)],
    "regex": ["a", "a"],
    "regexall": ["a", "aa"],
    "replace": ["a", "a", "b"],
    "reverse": [["a", "b"]],
    "setintersection": [["a"], ["a"]],
    "setsubtract": [["a"], ["b"]],
    "setunion": [["a"], ["b"]],
    "signum": [D(-2)],
    "slice": [["a", "b"], D(0), D(1)],
    "sort": [["b", "a"]],
    "split": [",", "a,b"],
    "startswith": ["ab", "a"],
    "strcontains": ["ab", "b"],
    "strrev": ["ab"],
    "substr": ["abc", D(1), D(1)],
    "sum": [[D(1), D(2)]],
    "templatefile": ["hello.tmpl", {"name": "you"}],
    "title": ["a b"],
    "tobool": ["true"],
    "tolist": [["a"]],
    "tomap": [{"a": "b"}],
    "tonumber": ["1"],
    "toset": [["a"]],
    "tostring": [D(1)],
    "trim": ["xax", "x"],
    "trimprefix": ["ab", "a"],
    "trimspace": [" a "],
    "trimsuffix": ["ab", "b"],
    "upper": ["a"],
    "urlencode": ["a b"],
    "values": [{"a": D(1)}],
    "yamldecode": ["a: 1"],
    "yamlencode": [{"a": D(1)}],
    "zipmap": [["a"], [D(1)]],
}


def test_every_function_can_be_called(tmp_path: Path) -> None:
    (tmp_path / "hello.txt").write_text("hello")
    (tmp_path / "hello.tmpl").write_text("hello ${name}")
    assert list(FUNCTION_NAMES) == sorted(FUNCTION_NAMES)
    assert {"try", "can"} <= set(FUNCTION_NAMES)
    assert set(SAMPLES) == set(FUNCTION_NAMES) - {"try", "can"}
    for name, args in SAMPLES.items():
        _call(name, *args, root=tmp_path)


def test_file_functions_read_against_the_project_folder(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "hello.txt").write_text("héllo\n", encoding="utf-8")
    (tmp_path / "icon.bin").write_bytes(b"\xff\xfe")
    (tmp_path / "greeting.tmpl").write_text("Hello, ${name}! ${count}")
    assert {"file", "fileexists", "filebase64", "templatefile"} == READS_FILES
    assert _call("file", "data/hello.txt", root=tmp_path) == "héllo\n"
    assert _call("file", str(tmp_path / "data" / "hello.txt"), root=tmp_path) == "héllo\n"
    assert _call("file", "data/../data/hello.txt", root=tmp_path) == "héllo\n"
    assert _call("filebase64", "icon.bin", root=tmp_path) == "//4="
    assert _call("fileexists", "data/hello.txt", root=tmp_path) is True
    assert _call("fileexists", "data/nothing.txt", root=tmp_path) is False
    variables = {"name": "Ann", "count": D(3)}
    assert _call("templatefile", "greeting.tmpl", variables, root=tmp_path) == "Hello, Ann! 3"


def test_file_function_errors(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    (tmp_path / "icon.bin").write_bytes(b"\xff\xfe")
    (tmp_path / "t.tmpl").write_text("x")
    (tmp_path / "outer.tmpl").write_text("nested:t.tmpl")

    def error(name: str, *args: Any) -> FunctionError:
        with pytest.raises(FunctionError) as caught:
            _call(name, *args, root=tmp_path)
        return caught.value

    missing = error("file", "data/missing.txt")
    assert missing.param == "path"
    assert 'no file exists at "data/missing.txt"' in str(missing)
    assert str(tmp_path / "data" / "missing.txt") in str(missing)  # where it looked
    assert "not valid UTF-8; use the filebase64 function" in str(error("file", "icon.bin"))
    assert str(error("file", "dir")) == '"dir" is a directory, not a file'
    assert str(error("fileexists", "dir")) == '"dir" is a directory, not a file'
    assert error("filebase64", "nope").param == "path"
    assert error("templatefile", "t.tmpl", "x").param == "vars"
    assert str(error("templatefile", "t.tmpl", {"bad name": "x"})).startswith(
        'invalid template variable name "bad name": must start with a letter'
    )
    assert error("templatefile", "missing.tmpl", {}).param == "path"
    recursive = str(error("templatefile", "outer.tmpl", {}))
    assert recursive.startswith('Call to function "templatefile" failed: "outer.tmpl": ')
    assert "cannot recursively call templatefile from inside another template function" in (
        recursive
    )
    # the guard is reset: the same context renders templates again afterwards
    assert _call("templatefile", "t.tmpl", {}, root=tmp_path) == "x"
