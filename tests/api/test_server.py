"""Server life cycle, health checking, reflection, limits and TLS."""

from __future__ import annotations

import datetime
import socket
import threading
from pathlib import Path

import grpc
import pytest
import trio
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from google.protobuf import descriptor_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from tests.api.conftest import AUTH, Served, start_server, start_stoppable, verify_key
from tests.api.probes import TrioSide, probe_bindings
from tidings.api.server import GrpcSettings, GrpcStartError, TlsFiles, serve_grpc
from tidings.v1 import connectors_pb2, connectors_pb2_grpc, events_pb2, events_pb2_grpc

TIMEOUT = 10.0


def _server_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "tidings-grpc"]


def _port_refuses(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return False
    except ConnectionRefusedError:
        return True


async def test_cancelling_the_task_stops_server_and_joins_thread() -> None:
    side = TrioSide()
    before = len(_server_threads())
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            port = await start_server(nursery, side, grace_seconds=0.5)
            assert len(_server_threads()) == before + 1
            channel = grpc.insecure_channel(f"127.0.0.1:{port}")
            stub = connectors_pb2_grpc.ConnectorServiceStub(channel)
            events = events_pb2_grpc.EventServiceStub(channel)
            stream = events.Subscribe(
                events_pb2.SubscribeRequest(cursor="forever"), metadata=AUTH, timeout=TIMEOUT
            )
            assert (await trio.to_thread.run_sync(next, stream)).cursor == "0"
            hanging = stub.GetConnector.future(
                connectors_pb2.GetConnectorRequest(id="hang"), metadata=AUTH, timeout=TIMEOUT
            )
            await side.hang_started.wait()
            nursery.cancel_scope.cancel()
    # The server task has returned: the thread is gone, the port closed, and
    # the work still running past the grace period was cancelled in trio.
    assert len(_server_threads()) == before
    assert _port_refuses(port)
    assert side.hang_cancelled.is_set()
    assert side.stream_closed.is_set()
    with pytest.raises(grpc.RpcError) as caught:
        hanging.result()
    assert caught.value.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED)
    channel.close()


async def test_calls_in_flight_finish_during_the_grace_period(nursery: trio.Nursery) -> None:
    side = TrioSide()
    server = await start_stoppable(nursery, side, grace_seconds=5.0)
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        watch = health_pb2_grpc.HealthStub(channel).Watch(
            health_pb2.HealthCheckRequest(service="tidings.v1.ConnectorService"),
            timeout=TIMEOUT,
        )
        first = await trio.to_thread.run_sync(next, watch)
        assert first.status == health_pb2.HealthCheckResponse.SERVING
        gated = connectors_pb2_grpc.ConnectorServiceStub(channel).GetConnector.future(
            connectors_pb2.GetConnectorRequest(id="gated"), metadata=AUTH, timeout=TIMEOUT
        )
        with trio.fail_after(5):
            await side.hang_started.wait()
        server.scope.cancel()
        # Health turns NOT_SERVING once the graceful stop has begun...
        stopping = await trio.to_thread.run_sync(next, watch)
        assert stopping.status == health_pb2.HealthCheckResponse.NOT_SERVING
        # ...and the call in flight still completes.
        side.release.set()
        reply = await trio.to_thread.run_sync(gated.result)
        assert reply.name == "name-gated"
        watch.cancel()
    with trio.fail_after(10):
        await server.stopped.wait()
    assert not side.hang_cancelled.is_set()


async def test_health_answers_without_a_key(served: Served) -> None:
    stub = health_pb2_grpc.HealthStub(served.channel)

    def check(service: str) -> int:
        request = health_pb2.HealthCheckRequest(service=service)
        return int(stub.Check(request, timeout=TIMEOUT).status)

    serving = health_pb2.HealthCheckResponse.SERVING
    assert await trio.to_thread.run_sync(check, "") == serving
    assert await trio.to_thread.run_sync(check, "tidings.v1.ConnectorService") == serving
    assert await trio.to_thread.run_sync(check, "tidings.v1.EventService") == serving
    with pytest.raises(grpc.RpcError) as caught:
        await trio.to_thread.run_sync(check, "tidings.v1.DraftService")
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


def _reflect(
    channel: grpc.Channel, request: reflection_pb2.ServerReflectionRequest
) -> reflection_pb2.ServerReflectionResponse:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    replies = list(stub.ServerReflectionInfo(iter([request]), timeout=TIMEOUT))
    assert len(replies) == 1
    return replies[0]


async def test_reflection_lists_services_without_a_key(served: Served) -> None:
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    reply = await trio.to_thread.run_sync(_reflect, served.channel, request)
    names = {service.name for service in reply.list_services_response.service}
    assert names == {
        "tidings.v1.ConnectorService",
        "tidings.v1.EventService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    }


async def test_reflection_serves_the_proto_comments(served: Served) -> None:
    request = reflection_pb2.ServerReflectionRequest(
        file_containing_symbol="tidings.v1.EventService"
    )
    reply = await trio.to_thread.run_sync(_reflect, served.channel, request)
    files = {
        f.name: f
        for f in (
            descriptor_pb2.FileDescriptorProto.FromString(raw)
            for raw in reply.file_descriptor_response.file_descriptor_proto
        )
    }
    # The file and everything it imports, so a client can decode every type.
    assert {"tidings/v1/events.proto", "tidings/v1/messages.proto"} <= set(files)
    comments = " ".join(
        location.leading_comments
        for location in files["tidings/v1/events.proto"].source_code_info.location
    )
    assert "Replays the log from the cursor" in comments


async def test_start_fails_on_a_port_in_use(served: Served) -> None:
    taken = GrpcSettings(host="127.0.0.1", port=served.port)
    with trio.fail_after(10), pytest.raises(GrpcStartError, match=str(served.port)):
        await serve_grpc(taken, probe_bindings(TrioSide()), verify_key)


async def test_request_over_the_size_limit_is_refused(nursery: trio.Nursery) -> None:
    small = GrpcSettings(host="127.0.0.1", port=0, max_receive_bytes=1024)
    port = await nursery.start(serve_grpc, small, probe_bindings(TrioSide()), verify_key)
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = connectors_pb2_grpc.ConnectorServiceStub(channel)

        def get(connector_id: str) -> str:
            request = connectors_pb2.GetConnectorRequest(id=connector_id)
            return str(stub.GetConnector(request, metadata=AUTH, timeout=TIMEOUT).name)

        assert await trio.to_thread.run_sync(get, "x" * 900) == "name-" + "x" * 900
        with pytest.raises(grpc.RpcError) as caught:
            await trio.to_thread.run_sync(get, "x" * 2000)
        assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def _self_signed(directory: Path) -> TlsFiles:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    files = TlsFiles(directory / "cert.pem", directory / "key.pem")
    files.certificate_chain.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    files.private_key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files


async def test_serves_over_tls(nursery: trio.Nursery, tmp_path: Path) -> None:
    tls = _self_signed(tmp_path)
    secure = GrpcSettings(host="127.0.0.1", port=0, tls=tls)
    port = await nursery.start(serve_grpc, secure, probe_bindings(TrioSide()), verify_key)
    credentials = grpc.ssl_channel_credentials(tls.certificate_chain.read_bytes())
    with grpc.secure_channel(f"localhost:{port}", credentials) as channel:
        stub = connectors_pb2_grpc.ConnectorServiceStub(channel)
        request = connectors_pb2.GetConnectorRequest(id="tls")

        def get() -> str:
            return str(stub.GetConnector(request, metadata=AUTH, timeout=TIMEOUT).name)

        assert await trio.to_thread.run_sync(get) == "name-tls"
