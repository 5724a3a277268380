"""The HTTPS listener's TLS: TLS 1.2 offers only AEAD suites with forward
secrecy (ECDHE with AES-GCM or ChaCha20-Poly1305), so a client limited to
CBC suites (LUCKY13 and its kin) is refused; TLS 1.3 stays. The development
certificate is ECDSA, so the ECDSA variants are the ones a handshake can
use. See docs/security.md for the testssl.sh run."""
import socket
import ssl

import pytest

CBC_SUITES = ["ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA", "ECDHE-ECDSA-AES128-SHA256",
              "ECDHE-ECDSA-AES256-SHA384", "ECDHE-RSA-AES128-SHA", "ECDHE-RSA-AES256-SHA384", "AES128-SHA",
              "AES256-SHA256"]
AEAD_SUITES = ["ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305"]


def tls12_context(stack, ciphers):
    ctx = ssl.create_default_context(cafile=stack.ca_cert)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(ciphers)
    return ctx


def handshake(stack, ctx):
    """(protocol, cipher) the server chose, or the ssl.SSLError it caused."""
    with socket.create_connection(("127.0.0.1", stack.https_port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            return s.version(), s.cipher()[0]


def test_tls12_with_only_cbc_suites_is_refused(stack):
    ctx = tls12_context(stack, ":".join(CBC_SUITES))
    offered = {c["name"] for c in ctx.get_ciphers()}
    assert set(CBC_SUITES[:4]) <= offered, offered  # the client does offer them
    with pytest.raises(ssl.SSLError):
        handshake(stack, ctx)


@pytest.mark.parametrize("suite", CBC_SUITES[:4])
def test_each_ecdsa_cbc_suite_is_refused_on_tls12(stack, suite):
    with pytest.raises(ssl.SSLError):
        handshake(stack, tls12_context(stack, suite))


@pytest.mark.parametrize("suite", AEAD_SUITES)
def test_aead_suites_with_forward_secrecy_are_accepted_on_tls12(stack, suite):
    assert handshake(stack, tls12_context(stack, suite)) == ("TLSv1.2", suite)


def test_aead_wins_when_the_client_prefers_cbc(stack):
    ctx = tls12_context(stack, ":".join(CBC_SUITES + AEAD_SUITES))
    version, cipher = handshake(stack, ctx)
    assert version == "TLSv1.2" and cipher in AEAD_SUITES


def test_tls13_is_offered(stack):
    ctx = ssl.create_default_context(cafile=stack.ca_cert)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    version, cipher = handshake(stack, ctx)
    assert version == "TLSv1.3" and cipher.startswith("TLS_") and ("GCM" in cipher or "CHACHA20" in cipher)
