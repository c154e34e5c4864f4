"""`serving "local"` speaks the Open Inference Protocol (KServe V2) and survives bad clients.

One deployment of an iris classifier, made with `zenctl apply` as a user would, serves every
test here. It is asked by NVIDIA's `tritonclient`, a V2 client nobody here wrote, and by raw
sockets that break HTTP the ways real clients do: no or a lying Content-Length, a body too
big, a client that stops sending, JSON that is not, tensors of the wrong shape or type, and
200 clients at once. Every error is one line of JSON, and the server's log holds no traceback.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy
import pytest
import tritonclient.http as triton
from conftest import Project
from tritonclient.utils import InferenceServerException
from zenctl_local import server, v2

from zenctl.sdk import dump_value

STEPS = '''
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler


def flowers():
    """Iris as a DataFrame with named columns and species names as labels."""
    data = load_iris(as_frame=True)
    return data.data, data.target_names[data.target]


def train():
    features, species = flowers()
    model = Pipeline([("scale", StandardScaler()), ("classify", LogisticRegression())])
    return model.fit(features, species)
'''

CONFIG = """
stack "small" {
  orchestrator "local" {}
  artifact_store "local" {}
  metadata_store "sqlite" {}

  serving "local" {
    max_body_mb  = 1
    read_timeout = "1s"
  }
}

pipeline "p" {
  stack = stack.small

  step "train" {
    run = "steps.iris:train"
  }

  deployment "flowers" {
    model   = step.train.outputs.output
    serving = "local"
  }
}
"""

NAME = "flowers"  # the deployment's name is the model's name
INFER = f"/v2/models/{NAME}/infer"
LIMIT = 1024 * 1024  # max_body_mb = 1


@dataclass(frozen=True)
class Served:
    host: str  # 127.0.0.1:port
    model: Any  # the same model, trained here: what the server must answer
    digest: str
    log: Path


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    project = Project(tmp_path_factory.mktemp("v2"))
    project.write("steps/__init__.py", "")
    project.write("steps/iris.py", STEPS)
    project.write("main.zc.hcl", CONFIG)
    created = project.apply()
    assert created.code == 0, created.both
    url = created.out.split("deployment.flowers: Creation complete (", 1)[1].split(")")[0]
    host = url.removeprefix("http://")
    health = json.loads(urllib.request.urlopen(f"{url}/health", timeout=10).read())
    namespace: dict[str, Any] = {}
    exec(STEPS, namespace)
    (log,) = (project.root / ".zenctl" / "serving").rglob("server.log")
    try:
        yield Served(host, namespace["train"](), health["model"], log)
        assert "Traceback" not in log.read_text()  # bad input is answered, never a crash
    finally:
        assert project.run("destroy", "--auto-approve").code == 0


def rows(count: int = 3) -> numpy.ndarray[Any, Any]:
    return numpy.array([[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5]][:count])


def truth(served: Served, batch: numpy.ndarray[Any, Any]) -> list[str]:
    import pandas

    names = list(served.model.feature_names_in_)
    return [str(s) for s in served.model.predict(pandas.DataFrame(batch, columns=names))]


def test_tritonclient_reads_metadata_and_infers(served: Served) -> None:
    client = triton.InferenceServerClient(served.host)
    assert client.is_server_live() and client.is_server_ready()
    assert client.is_model_ready(NAME)
    assert client.get_server_metadata()["name"] == "zenctl-local"
    metadata = client.get_model_metadata(NAME)
    assert metadata["name"] == NAME and metadata["versions"] == [served.digest]
    assert metadata["inputs"] == [{"name": "input-0", "datatype": "FP64", "shape": [-1, 4]}]
    assert metadata["outputs"] == [
        {"name": "predict", "datatype": "BYTES", "shape": [-1]},
        {"name": "predict_proba", "datatype": "FP64", "shape": [-1, 3]},
    ]

    for binary in (False, True):  # JSON data, and the binary extension tritonclient defaults to
        tensor = triton.InferInput("input-0", [3, 4], "FP64")
        tensor.set_data_from_numpy(rows(), binary_data=binary)
        result = client.infer(NAME, [tensor], request_id="r-1")
        assert result.get_response()["id"] == "r-1"
        assert result.get_response()["model_version"] == served.digest
        assert result.as_numpy("predict").tolist() == truth(served, rows())

    tensor = triton.InferInput("input-0", [2, 4], "FP32")
    tensor.set_data_from_numpy(rows(2).astype(numpy.float32))
    wanted = [triton.InferRequestedOutput("predict_proba", binary_data=False)]
    result = client.infer(NAME, [tensor], outputs=wanted)
    expected = served.model.predict_proba(
        __import__("pandas").DataFrame(rows(2), columns=served.model.feature_names_in_)
    )
    assert numpy.allclose(result.as_numpy("predict_proba"), expected, atol=1e-5)

    with pytest.raises(InferenceServerException, match="unknown model 'roses'") as error:
        client.get_model_metadata("roses")
    assert error.value.status() == "404"


def request(
    served: Served, method: str, path: str, body: bytes | None = None, **headers: str
) -> tuple[int, dict[str, Any]]:
    connection = http.client.HTTPConnection(served.host, timeout=10)
    try:
        connection.request(method, path, body, headers)
        response = connection.getresponse()
        text = response.read().decode()
    finally:
        connection.close()
    assert "\n" not in text.strip(), text  # one line
    return response.status, json.loads(text)


def infer_body(**tensor: Any) -> bytes:
    spec = {"name": "input-0", "shape": [1, 4], "datatype": "FP64", "data": [5.1, 3.5, 1.4, 0.2]}
    return json.dumps({"inputs": [{**spec, **tensor}]}).encode()


def test_v2_json_shapes(served: Served) -> None:
    nested = json.dumps(
        {
            "id": 7,
            "inputs": [{"name": "x", "shape": [3, 4], "datatype": "FP64", "data": rows().tolist()}],
        }
    ).encode()
    status, answer = request(served, "POST", INFER, nested)
    assert status == 200, answer
    assert answer == {
        "model_name": NAME,
        "model_version": served.digest,
        "id": 7,
        "outputs": [
            {"name": "predict", "shape": [3], "datatype": "BYTES", "data": truth(served, rows())}
        ],
    }
    versioned = f"/v2/models/{NAME}/versions/{served.digest}/infer"
    assert (
        request(served, "POST", versioned, infer_body(datatype="INT64", data=[5, 3, 1, 0]))[0]
        == 200
    )
    assert request(served, "GET", "/v2/health/ready") == (200, {"ready": True})
    assert request(served, "GET", f"/v2/models/{NAME}/ready") == (
        200,
        {"name": NAME, "ready": True},
    )


@pytest.mark.parametrize(
    ("path", "body", "status", "error"),
    [
        ("/v2/models/roses/infer", infer_body(), 404, "unknown model 'roses'"),
        (f"/v2/models/{NAME}/versions/abc/infer", infer_body(), 404, "unknown version 'abc'"),
        (INFER, b'{"inputs": [', 400, "the body is not JSON: Expecting value"),
        (INFER, b'{"rows": []}', 400, "send exactly one input"),
        (INFER, infer_body(datatype="FLOAT"), 400, "input 'input-0': datatype 'FLOAT'"),
        (INFER, infer_body(shape=[2, 4]), 400, "input 'input-0': shape [2, 4] holds 8 values"),
        (INFER, infer_body(data=["a", 1, 2, 3]), 400, "input 'input-0': data is not FP64"),
        (INFER, infer_body(data=[[1, 2], [3]]), 400, "input 'input-0': data is not FP64"),
        (INFER, infer_body(shape=[4], data=[1, 2, 3, 4]), 400, "must be [rows, features]"),
        (INFER, infer_body(shape=[1, 3], data=[1, 2, 3]), 400, "takes 4 features a row, got 3"),
        (INFER, infer_body(datatype="BYTES", data=list("abcd")), 422, "the model rejected"),
        (
            INFER,
            json.dumps(
                {"inputs": json.loads(infer_body())["inputs"], "outputs": [{"name": "y"}]}
            ).encode(),
            400,
            "output 'y': this model has only predict, predict_proba",
        ),
        ("/predict", b"[1]", 400, 'send {"rows": [...]}'),
        ("/nowhere", b"{}", 404, "not found: POST /nowhere"),
    ],
)
def test_bad_requests_get_one_json_line_naming_the_fault(
    served: Served, path: str, body: bytes, status: int, error: str
) -> None:
    answer = request(served, "POST", path, body)
    assert answer[0] == status
    assert error in answer[1]["error"]


def raw(served: Served, data: bytes, *, wait: float = 10) -> bytes:
    """Send bytes as they are; what comes back until the server closes the connection."""
    host, port = served.host.split(":")
    with socket.create_connection((host, int(port)), timeout=wait) as connection:
        connection.sendall(data)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    return received


def status_and_error(response: bytes) -> tuple[int, str]:
    head, _, body = response.partition(b"\r\n\r\n")
    assert b"Connection: close" in head, head
    return int(head.split()[1]), json.loads(body)["error"]


@pytest.mark.parametrize(
    ("headers", "status", "error"),
    [
        ("", 411, "Content-Length required"),
        ("Content-Length: -5\r\n", 400, "Content-Length '-5' is not a non-negative integer"),
        ("Content-Length: ten\r\n", 400, "Content-Length 'ten' is not"),
        (f"Content-Length: {LIMIT + 1}\r\n", 413, f"over the limit of {LIMIT}"),
        ("Transfer-Encoding: chunked\r\n", 411, "not chunked"),
    ],
)
def test_a_body_without_a_good_length_is_refused_before_it_is_read(
    served: Served, headers: str, status: int, error: str
) -> None:
    # nothing of the body is sent: the answer must not wait for it
    response = raw(served, f"POST {INFER} HTTP/1.1\r\nHost: x\r\n{headers}\r\n".encode())
    assert status_and_error(response)[0] == status
    assert error in status_and_error(response)[1]


def test_garbage_is_answered_in_json(served: Served) -> None:
    # a request line that is not HTTP/1.x is answered as HTTP/0.9 would be: the body alone
    assert json.loads(raw(served, b"HELLO\r\n\r\n")) == {"error": "Bad request syntax ('HELLO')"}
    assert (
        status_and_error(raw(served, b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 200 + b"\r\n"))[0] == 431
    )


def test_a_slow_client_is_dropped_and_blocks_no_one(served: Served) -> None:
    slow: dict[str, Any] = {}

    def stall() -> None:
        started = time.monotonic()
        head = f"POST {INFER} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"
        slow["response"] = raw(served, head.encode() + b'{"inputs"')  # then silence
        slow["seconds"] = time.monotonic() - started

    staller = threading.Thread(target=stall)
    staller.start()
    assert request(served, "POST", INFER, infer_body())[0] == 200  # while the other stalls
    staller.join()
    assert status_and_error(slow["response"]) == (408, "no data for 1s: closing")
    assert slow["seconds"] < 5
    assert raw(served, b"") == b""  # a connection that never says anything is closed too


def test_200_concurrent_clients_all_get_answers(served: Served) -> None:
    start = threading.Barrier(200)
    statuses: list[int] = []
    answers: list[list[str]] = []

    def client() -> None:
        start.wait()
        status, answer = request(served, "POST", INFER, infer_body())
        statuses.append(status)
        answers.append(answer["outputs"][0]["data"])

    threads = [threading.Thread(target=client) for _ in range(200)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 200
    assert answers == [truth(served, rows(1))] * 200


def test_a_read_timeout_of_zero_is_refused_at_plan(tmp_path: Path) -> None:
    project = Project(tmp_path)
    project.write("steps/__init__.py", "")
    project.write("steps/iris.py", STEPS)
    project.write("main.zc.hcl", CONFIG.replace('read_timeout = "1s"', 'read_timeout = "0s"'))
    planned = project.run("plan")
    assert planned.code == 1 and "Traceback" not in planned.both
    assert "serving read_timeout '0s' is not a duration above 0" in planned.err


def test_metadata_paths_may_carry_a_query_string(served: Served) -> None:
    assert request(served, "GET", f"/v2/models/{NAME}?verbose=1")[1]["name"] == NAME
    assert request(served, "GET", "/v2/health/live?x") == (200, {"live": True})
    assert request(served, "GET", "/v3") == (
        404,
        {"error": f"not found: GET /v3; see GET /v2/models/{NAME}"},
    )


def test_past_the_connection_limit_a_client_gets_503_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sklearn.dummy import DummyClassifier

    materializer, data = dump_value(DummyClassifier().fit([[0.0]], [1]))
    (tmp_path / "model").write_bytes(data)
    monkeypatch.setattr(server, "MAX_CONNECTIONS", 2)
    handler = server.make_handler(server.Model(tmp_path / "model", materializer), "m", 1024, 5)
    httpd = server.Server(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    port = httpd.server_address[1]
    try:
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
        with socket.create_connection(("127.0.0.1", port), timeout=3) as third:
            answer = third.recv(65536)
        assert status_and_error(answer) == (503, "busy: 2 connections open")
        for connection in idle:
            connection.close()
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_binary_tensors_of_bytes_and_numbers_decode() -> None:
    words = b"".join(len(w).to_bytes(4, "little") + w for w in (b"ab", b"", b"xyz", b"q"))
    spec = {"name": "t", "shape": [2, 2], "datatype": "BYTES"}
    sized = {**spec, "parameters": {"binary_data_size": len(words)}}
    assert v2.tensor(sized, words).tolist() == [["ab", ""], ["xyz", "q"]]
    numbers = numpy.array([1, 2, 3, 4], dtype="<i4").tobytes()
    spec = {
        "name": "n",
        "shape": [1, 4],
        "datatype": "INT32",
        "parameters": {"binary_data_size": 16},
    }
    assert v2.tensor(spec, numbers).tolist() == [[1, 2, 3, 4]]
    with pytest.raises(v2.RequestError, match="input 'n': data is not INT32: binary_data_size 16"):
        v2.tensor(spec, numbers[:8])
    for size in ("16", -1, 1.5, True):  # a length of bytes, not a Python error from inside
        wrong = {**spec, "parameters": {"binary_data_size": size}}
        with pytest.raises(
            v2.RequestError, match="input 'n': binary_data_size must be a non-negative integer"
        ):
            v2.tensor(wrong, numbers)


def test_list_rows_reach_a_model_fitted_with_names_by_those_names() -> None:
    """scikit-learn warns on every call given rows without the names it was fitted with:
    one warning per request would fill the server's log."""
    import warnings

    import pandas
    from sklearn.linear_model import LogisticRegression

    frame = pandas.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
    model = LogisticRegression().fit(frame, [0, 0, 1, 1])
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        assert server.predict(model, [[3.0, 0.0]]) == [1]
    assert seen == []
