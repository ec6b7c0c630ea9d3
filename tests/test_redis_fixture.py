"""The Redis the tests use is a real server that stores and returns data."""

import redis


def test_redis_round_trip(redis_url):
    conn = redis.Redis.from_url(redis_url)
    conn.set("coachdesk:probe", "42")
    assert conn.get("coachdesk:probe") == b"42"
    assert conn.info("server")["redis_version"]
