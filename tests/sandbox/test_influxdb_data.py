"""Writing, querying and deleting data on the sandbox InfluxDB v2 server, through influxdb-client.

Responses are validated against the contract by the fixtures (drift fails the test).
"""

from __future__ import annotations

import gzip
from datetime import UTC, datetime

import pytest
import requests
from influxdb_client import Point, WritePrecision
from influxdb_client.client.write_api import SYNCHRONOUS, WriteOptions
from influxdb_client.rest import ApiException

from tests.sandbox.influx_server import running_influx

T0 = 1_700_000_000_000_000_000  # 2023-11-14T22:13:20Z, ns


@pytest.fixture
def influx(tmp_path):
    """A fresh onboarded server; its responses are checked against oss.yml."""
    with running_influx(tmp_path / "influx") as running:
        yield running


def _hdr(token: str) -> dict:
    return {"Authorization": f"Token {token}"}


def _rows(influx, bucket_id=None):
    """What is stored, read straight from the server's store."""
    rows = influx.server.store.scan(bucket_id or influx.bucket_id, -(2**63), 2**63 - 1)
    return sorted(
        (
            r.measurement,
            tuple(sorted(r.tags.items())),
            r.field,
            r.kind,
            r.value,
            r.time_ns,
        )
        for r in rows
    )


def test_synchronous_write_and_query(influx):
    client = influx.client()
    write = client.write_api(write_options=SYNCHRONOUS)
    write.write(
        influx.bucket,
        influx.org,
        [
            Point("cpu")
            .tag("host", "a")
            .field("usage", 0.5)
            .time(T0, WritePrecision.NS),
            Point("cpu")
            .tag("host", "b")
            .field("usage", 0.75)
            .time(T0, WritePrecision.NS),
            Point("cpu")
            .tag("host", "a")
            .field("usage", 0.25)
            .time(T0 + 10**9, WritePrecision.NS),
            Point("mem")
            .tag("host", "a")
            .field("used", 1024)
            .time(T0, WritePrecision.NS),
        ],
    )
    write.write(
        influx.bucket,
        influx.org,
        'cpu,host=a cores=8u,ok=true,state="idle" 1700000000',
        WritePrecision.S,
    )
    assert _rows(influx) == [
        ("cpu", (("host", "a"),), "cores", "unsigned", 8, T0),
        ("cpu", (("host", "a"),), "ok", "boolean", True, T0),
        ("cpu", (("host", "a"),), "state", "string", "idle", T0),
        ("cpu", (("host", "a"),), "usage", "float", 0.25, T0 + 10**9),
        ("cpu", (("host", "a"),), "usage", "float", 0.5, T0),
        ("cpu", (("host", "b"),), "usage", "float", 0.75, T0),
        ("mem", (("host", "a"),), "used", "integer", 1024, T0),
    ]

    query = client.query_api()
    tables = query.query(
        f'from(bucket: "{influx.bucket}") |> range(start: 2023-11-14T00:00:00Z, stop: 2023-11-15T00:00:00Z)'
        ' |> filter(fn: (r) => r._measurement == "cpu" and r._field == "usage" and r.host == "a")'
    )
    records = [
        (rec.get_time(), rec.get_value(), rec.values["host"])
        for t in tables
        for rec in t.records
    ]
    assert records == [
        (datetime.fromtimestamp(T0 / 1e9, UTC), 0.5, "a"),
        (datetime.fromtimestamp(T0 / 1e9 + 1, UTC), 0.25, "a"),
    ]
    counted = query.query(
        f'from(bucket: "{influx.bucket}") |> range(start: 0)'
        ' |> filter(fn: (r) => r._field == "usage") |> count()'
    )
    assert sorted(
        (t.records[0].values["host"], t.records[0].get_value()) for t in counted
    ) == [("a", 2), ("b", 1)]
    # application/vnd.flux and the raw annotated CSV
    r = requests.post(
        f"{influx.url}/api/v2/query?org={influx.org}",
        headers={**_hdr(influx.token), "Content-Type": "application/vnd.flux"},
        data=f'from(bucket: "{influx.bucket}") |> range(start: 0) |> filter(fn: (r) => r._measurement == "mem")',
    )
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/csv")
    assert "#datatype" in r.text and ",1024," in r.text
    # query parameters (influxdb-client sends them as extern)
    tables = query.query(
        'from(bucket: b) |> range(start: 0) |> filter(fn: (r) => r._measurement == "mem")',
        params={"b": influx.bucket},
    )
    assert [rec.get_value() for t in tables for rec in t.records] == [1024]


def test_query_errors(influx):
    client = influx.client()
    with pytest.raises(ApiException) as exc:
        client.query_api().query('from(bucket: "nope") |> range(start: -1h)')
    assert exc.value.status == 404
    with pytest.raises(ApiException) as exc:
        client.query_api().query("this is not flux")
    assert exc.value.status == 400


def test_points_merge_and_overwrite(influx):
    client = influx.client()
    write = client.write_api(write_options=SYNCHRONOUS)
    write.write(influx.bucket, influx.org, f"m,t=x a=1,b=2 {T0}")
    write.write(influx.bucket, influx.org, f"m,t=x a=10 {T0}")
    write.write(influx.bucket, influx.org, f"m,t=y a=3 {T0}")
    assert _rows(influx) == [
        ("m", (("t", "x"),), "a", "float", 10.0, T0),
        ("m", (("t", "x"),), "b", "float", 2.0, T0),
        ("m", (("t", "y"),), "a", "float", 3.0, T0),
    ]


def test_batching_write(influx):
    client = influx.client()
    errors = []
    with client.write_api(
        write_options=WriteOptions(
            batch_size=50, flush_interval=200, retry_interval=100, max_retries=0
        ),
        error_callback=lambda conf, data, exc: errors.append(exc),
    ) as write:
        for i in range(230):
            write.write(
                influx.bucket,
                influx.org,
                Point("batch").tag("n", str(i % 3)).field("v", i).time(T0 + i),
            )
    assert errors == []
    rows = _rows(influx)
    assert len(rows) == 230
    assert {r[4] for r in rows} == set(range(230))


def test_unparsable_line_rejects_the_batch(influx):
    """InfluxDB 2.x: a batch with an unparsable line is refused whole (400), every bad line named."""
    body = f"ok v=1 {T0}\nbroken line here\nok v=2 {T0 + 1}\nalso,bad\n"
    r = requests.post(f"{influx.url}/api/v2/write", params={"org": influx.org, "bucket": influx.bucket},
                      headers=_hdr(influx.token), data=body)
    assert r.status_code == 400
    err = r.json()
    assert err["code"] == "invalid"
    assert err["message"] == ("unable to parse 'broken line here': invalid field format\n"
                              "unable to parse 'also,bad': missing tag value")
    assert err["line"] == 2
    assert _rows(influx) == []
    # through the client: an ApiException with the same body
    write = influx.client().write_api(write_options=SYNCHRONOUS)
    with pytest.raises(ApiException) as exc:
        write.write(influx.bucket, influx.org, "nofields")
    assert exc.value.status == 400 and "missing fields" in exc.value.body
    # an empty body is refused too, a body of blank lines and comments is a no-op
    r = requests.post(f"{influx.url}/api/v2/write", params={"org": influx.org, "bucket": influx.bucket},
                      headers=_hdr(influx.token), data=b"")
    assert r.status_code == 400 and r.json()["message"] == "writing requires points"
    r = requests.post(f"{influx.url}/api/v2/write", params={"org": influx.org, "bucket": influx.bucket},
                      headers=_hdr(influx.token), data=b"\n# comment\n\n")
    assert r.status_code == 204
    assert _rows(influx) == []


def test_field_type_conflict_is_422(influx):
    write = influx.client().write_api(write_options=SYNCHRONOUS)
    write.write(influx.bucket, influx.org, f"m v=1i {T0}")
    with pytest.raises(ApiException) as exc:
        write.write(influx.bucket, influx.org, f"m v=1.5 {T0 + 1}\nm w=2 {T0 + 2}")
    assert exc.value.status == 422
    assert (
        'field type conflict: input field \\"v\\" on measurement \\"m\\" is type float, '
        "already exists as type integer dropped=1"
    ) in exc.value.body
    assert '"unprocessable entity"' in exc.value.body
    # the good point of the batch was written, the conflicting one was not
    assert [(r[2], r[3], r[4]) for r in _rows(influx)] == [
        ("v", "integer", 1),
        ("w", "float", 2.0),
    ]


def test_gzip_write(influx):
    body = gzip.compress(f"gz v=1 {T0}\ngz v=2 {T0 + 1}".encode())
    r = requests.post(
        f"{influx.url}/api/v2/write",
        params={"org": influx.org, "bucket": influx.bucket},
        headers={**_hdr(influx.token), "Content-Encoding": "gzip"},
        data=body,
    )
    assert r.status_code == 204
    bad = requests.post(
        f"{influx.url}/api/v2/write",
        params={"org": influx.org, "bucket": influx.bucket},
        headers={**_hdr(influx.token), "Content-Encoding": "gzip"},
        data=b"not gzip",
    )
    assert bad.status_code == 400
    client = influx.client(enable_gzip=True)
    client.write_api(write_options=SYNCHRONOUS).write(
        influx.bucket, influx.org, f"gz v=3 {T0 + 2}"
    )
    assert [r[4] for r in _rows(influx)] == [1.0, 2.0, 3.0]
    tables = client.query_api().query(
        f'from(bucket: "{influx.bucket}") |> range(start: 0) |> count()'
    )
    assert [rec.get_value() for t in tables for rec in t.records] == [3]
    # query results come back gzip-compressed to a client that accepts it
    r = requests.post(
        f"{influx.url}/api/v2/query",
        params={"org": influx.org},
        headers={**_hdr(influx.token), "Accept-Encoding": "gzip"},
        json={
            "query": f'from(bucket: "{influx.bucket}") |> range(start: 0) |> count()'
        },
    )
    assert r.status_code == 200 and r.headers["Content-Encoding"] == "gzip"
    assert ",3,v,gz" in r.text


def test_too_large_body_is_413(tmp_path):
    with running_influx(tmp_path, max_body_bytes=2000) as influx:
        big = "\n".join(f"m v={i} {T0 + i}" for i in range(200))
        r = requests.post(
            f"{influx.url}/api/v2/write",
            params={"org": influx.org, "bucket": influx.bucket},
            headers=_hdr(influx.token),
            data=big,
        )
        assert r.status_code == 413
        assert r.json()["code"] == "invalid"
        # gzip does not get around the limit
        r = requests.post(
            f"{influx.url}/api/v2/write",
            params={"org": influx.org, "bucket": influx.bucket},
            headers={**_hdr(influx.token), "Content-Encoding": "gzip"},
            data=gzip.compress(big.encode()),
        )
        assert r.status_code == 413
        assert influx.server.store.count_points(influx.bucket_id) == 0
        # the connection is still usable afterwards
        ok = requests.post(
            f"{influx.url}/api/v2/write",
            params={"org": influx.org, "bucket": influx.bucket},
            headers=_hdr(influx.token),
            data=f"m v=1 {T0}",
        )
        assert ok.status_code == 204


def test_write_to_unknown_bucket_or_org(influx):
    write = influx.client().write_api(write_options=SYNCHRONOUS)
    with pytest.raises(ApiException) as exc:
        write.write("nope", influx.org, f"m v=1 {T0}")
    assert exc.value.status == 404 and '"not found"' in exc.value.body
    r = requests.post(
        f"{influx.url}/api/v2/write",
        params={"org": "nope", "bucket": influx.bucket},
        headers=_hdr(influx.token),
        data=f"m v=1 {T0}",
    )
    assert r.status_code == 404
    # by bucket ID and orgID works too
    r = requests.post(
        f"{influx.url}/api/v2/write",
        params={"orgID": influx.org_id, "bucket": influx.bucket_id, "precision": "s"},
        headers=_hdr(influx.token),
        data="m v=1 1700000000",
    )
    assert r.status_code == 204
    assert _rows(influx)[0][5] == T0
    r = requests.post(
        f"{influx.url}/api/v2/write",
        params={"org": influx.org, "bucket": influx.bucket, "precision": "h"},
        headers=_hdr(influx.token),
        data="m v=1 1",
    )
    assert r.status_code == 400


def test_retention_drops_old_points(influx):
    client = influx.client()
    b = client.buckets_api().create_bucket(
        bucket_name="short",
        org=influx.org,
        retention_rules=[{"type": "expire", "everySeconds": 3600}],
    )
    write = client.write_api(write_options=SYNCHRONOUS)
    with pytest.raises(ApiException) as exc:
        write.write("short", influx.org, f"m v=1 {T0}\nm v=2")  # the first is years old
    assert (
        exc.value.status == 422
        and "points beyond retention policy dropped=1" in exc.value.body
    )
    assert [r[4] for r in _rows(influx, b.id)] == [2.0]


def test_v1_write_through_dbrp(influx):
    h = _hdr(influx.token)
    r = requests.post(
        influx.url + "/api/v2/dbrps",
        headers=h,
        json={
            "orgID": influx.org_id,
            "bucketID": influx.bucket_id,
            "database": "legacy",
            "retention_policy": "autogen",
        },
    )
    assert r.status_code == 201
    # token as Authorization: Token, as u/p (v1 style), and as basic auth
    assert (
        requests.post(
            influx.url + "/write",
            params={"db": "legacy"},
            headers=h,
            data=f"v1 v=1 {T0}",
        ).status_code
        == 204
    )
    assert (
        requests.post(
            influx.url + "/write",
            params={
                "db": "legacy",
                "rp": "autogen",
                "u": "any",
                "p": influx.token,
                "precision": "s",
            },
            data="v1 v=2 1700000001",
        ).status_code
        == 204
    )
    assert (
        requests.post(
            influx.url + "/write",
            params={"db": "legacy"},
            auth=("any", influx.token),
            data=f"v1 v=3 {T0 + 2 * 10**9}",
        ).status_code
        == 204
    )
    assert [r[4] for r in _rows(influx)] == [1.0, 2.0, 3.0]
    # the virtual mapping (db = bucket name) works too
    assert (
        requests.post(
            influx.url + "/write",
            params={"db": influx.bucket},
            headers=h,
            data=f"v1 v=4 {T0 + 3 * 10**9}",
        ).status_code
        == 204
    )
    assert (
        requests.post(
            influx.url + "/write",
            params={"db": "unknown"},
            headers=h,
            data=f"v1 v=1 {T0}",
        ).status_code
        == 404
    )
    assert (
        requests.post(
            influx.url + "/write", params={"db": "legacy"}, data=f"v1 v=1 {T0}"
        ).status_code
        == 401
    )
    assert (
        requests.post(
            influx.url + "/write",
            params={"db": "legacy", "p": "wrong"},
            data=f"v1 v=1 {T0}",
        ).status_code
        == 401
    )


def test_delete_api(influx):
    client = influx.client()
    client.write_api(write_options=SYNCHRONOUS).write(
        influx.bucket,
        influx.org,
        [
            f"cpu,host=a v=1 {T0}",
            f"cpu,host=b v=2 {T0}",
            f"mem,host=a v=3 {T0}",
            f"cpu,host=a v=4 {T0 + 10**12}",
        ],
    )
    delete = client.delete_api()
    start = datetime.fromtimestamp(T0 / 1e9 - 60, UTC)
    stop = datetime.fromtimestamp(T0 / 1e9 + 60, UTC)
    delete.delete(
        start,
        stop,
        '_measurement="cpu" AND host="a"',
        bucket=influx.bucket,
        org=influx.org,
    )
    assert [(r[0], r[1], r[4]) for r in _rows(influx)] == [
        ("cpu", (("host", "a"),), 4.0),
        ("cpu", (("host", "b"),), 2.0),
        ("mem", (("host", "a"),), 3.0),
    ]
    # OR and regular expressions are refused as InfluxDB does
    for predicate in (
        '_measurement="cpu" OR host="a"',
        "host=~/a/",
        'host="a" AND',
        'host!="a"',
        '_value="1"',
        '(host="a"',
    ):
        with pytest.raises(ApiException) as exc:
            delete.delete(start, stop, predicate, bucket=influx.bucket, org=influx.org)
        assert exc.value.status == 400
    # parentheses, quoted keys and _field are accepted
    delete.delete(
        start,
        stop,
        '("_measurement"="mem") AND _field="v"',
        bucket=influx.bucket,
        org=influx.org,
    )
    assert [r[0] for r in _rows(influx)] == ["cpu", "cpu"]
    # no predicate: everything in the time range
    delete.delete(
        "1970-01-01T00:00:00Z",
        "2100-01-01T00:00:00Z",
        "",
        bucket=influx.bucket,
        org=influx.org,
    )
    assert _rows(influx) == []
    with pytest.raises(ApiException) as exc:
        delete.delete(start, stop, "", bucket="nope", org=influx.org)
    assert exc.value.status == 404


def test_state_survives_restart(tmp_path):
    from sandbox.influxdb.server import InfluxServer

    with running_influx(tmp_path) as influx:
        client = influx.client()
        bucket = client.buckets_api().create_bucket(bucket_name="kept", org=influx.org)
        client.write_api(write_options=SYNCHRONOUS).write(
            "kept", influx.org, f"m,k=v f=42i {T0}"
        )
        auth = client.authorizations_api().create_authorization(
            org_id=influx.org_id,
            permissions=[
                {
                    "action": "read",
                    "resource": {"type": "buckets", "orgID": influx.org_id},
                }
            ],
        )
        token, data_dir = influx.token, influx.server.data_dir
    again = InfluxServer(data_dir)
    again.start()
    try:
        from influxdb_client import InfluxDBClient

        with InfluxDBClient(url=again.url, token=token, org="ons") as client:
            assert client.buckets_api().find_bucket_by_name("kept").id == bucket.id
            assert auth.id in {
                a.id for a in client.authorizations_api().find_authorizations()
            }
            tables = client.query_api().query('from(bucket: "kept") |> range(start: 0)')
            assert [
                (r.get_value(), r.values["k"]) for t in tables for r in t.records
            ] == [(42, "v")]
        with InfluxDBClient(url=again.url, token=auth.token, org="ons") as client:
            assert "kept" in {
                b.name for b in client.buckets_api().find_buckets().buckets
            }
        assert requests.get(again.url + "/api/v2/setup").json() == {"allowed": False}
    finally:
        again.stop()


def test_concurrent_writers_and_readers(influx):
    """The threaded server and its SQLite store take parallel writes and queries."""
    import threading

    errors: list[str] = []

    def writer(n: int) -> None:
        with requests.Session() as s:
            for batch in range(5):
                body = "\n".join(f"par,w={n} v={batch * 100 + i}i {T0 + batch * 100 + i}" for i in range(100))
                r = s.post(f"{influx.url}/api/v2/write", params={"org": influx.org, "bucket": influx.bucket},
                           headers=_hdr(influx.token), data=body)
                if r.status_code != 204:
                    errors.append(f"write {r.status_code} {r.text}")
                q = s.post(f"{influx.url}/api/v2/query", params={"org": influx.org}, headers=_hdr(influx.token),
                           json={"query": f'from(bucket: "{influx.bucket}") |> range(start: 0) |> count()'})
                if q.status_code != 200:
                    errors.append(f"query {q.status_code} {q.text}")

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert influx.server.store.count_points(influx.bucket_id) == 4 * 500
