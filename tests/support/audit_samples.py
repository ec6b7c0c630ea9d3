"""Audit entries with awkward values: quotes, backslashes, control characters, commas, line breaks,
non-ASCII text, empty strings, NULLs and nested JSON. Both databases must hash and render them alike."""

AWKWARD_ENTRIES = [
    {"action": 'a"b\\c,\nd\te\x01f', "resource_type": "r", "metadata_json": None, "user_agent": None},
    {
        "action": "ünï €😀",
        "resource_type": "",
        "resource_id": "",
        "ip_address": "::1",
        "user_agent": "</script>\u2028\x7f",
        "metadata_json": {"a": 'x\\y"z', "b": [1, "2.50", None, True], "é": "\x01", "longer key": {"k": []}},
    },
    {"action": "x", "resource_type": "r", "resource_id": "1,2", "metadata_json": {"just": "one"}},
    {"action": "y", "resource_type": "r", "user_agent": 'Mozilla/5.0 "quoted", and\r\nbroken', "metadata_json": {}},
]
