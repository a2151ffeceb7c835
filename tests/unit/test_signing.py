import base64

import pytest
from standardwebhooks import Webhook

from kernel.signing import SignatureError, generate_secret, sign_headers, verify_signature

# The test vector published with the Standard Webhooks specification.
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_reproduces_standard_webhooks_vector():
    headers = sign_headers(VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY, [VECTOR_SECRET])
    assert headers == {
        "webhook-id": VECTOR_ID,
        "webhook-timestamp": "1614265330",
        "webhook-signature": VECTOR_SIGNATURE,
    }


def test_one_signature_per_secret_in_order():
    other = generate_secret()
    headers = sign_headers(VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY, [VECTOR_SECRET, other])
    first, second = headers["webhook-signature"].split(" ")
    assert first == VECTOR_SIGNATURE
    assert second.startswith("v1,") and second != first


def test_signature_verifies_with_reference_library():
    secret = generate_secret()
    body = '{"event": "café"}'.encode()
    headers = sign_headers("msg_1", VECTOR_TIMESTAMP, body, [secret])
    with pytest.raises(Exception, match="too old"):
        Webhook(secret).verify(body, headers)  # reference implementation checks the time too
    verify_signature(secret, headers, body, now=VECTOR_TIMESTAMP)


def test_sign_rejects_empty_secret_list_and_non_utf8_body():
    with pytest.raises(ValueError):
        sign_headers("msg_1", VECTOR_TIMESTAMP, b"{}", [])
    with pytest.raises(ValueError, match="UTF-8"):
        sign_headers("msg_1", VECTOR_TIMESTAMP, b"\xff", [VECTOR_SECRET])


@pytest.mark.parametrize("nbytes", [24, 32, 64])
def test_generate_secret(nbytes):
    secret = generate_secret(nbytes)
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == nbytes
    assert generate_secret(nbytes) != secret


@pytest.mark.parametrize("nbytes", [0, 23, 65, 1000])
def test_generate_secret_validates_length(nbytes):
    with pytest.raises(ValueError):
        generate_secret(nbytes)


def vector_headers(**overrides):
    headers = {
        "webhook-id": VECTOR_ID,
        "webhook-timestamp": str(VECTOR_TIMESTAMP),
        "webhook-signature": VECTOR_SIGNATURE,
    }
    headers.update(overrides)
    return {k: v for k, v in headers.items() if v is not None}


def test_verify_accepts_vector_case_insensitive_headers():
    headers = {k.title(): v for k, v in vector_headers().items()}
    verify_signature(VECTOR_SECRET, headers, VECTOR_BODY, now=VECTOR_TIMESTAMP + 10)


def test_verify_accepts_any_of_several_signatures():
    rotated = vector_headers(**{"webhook-signature": "v1,AAAA v2,zzz " + VECTOR_SIGNATURE})
    verify_signature(VECTOR_SECRET, rotated, VECTOR_BODY, now=VECTOR_TIMESTAMP)


@pytest.mark.parametrize(
    ("headers", "body", "message"),
    [
        (vector_headers(), b'{"test": 2432232315}', "signature verification failed"),
        (vector_headers(**{"webhook-id": "msg_other"}), VECTOR_BODY, "verification failed"),
        (vector_headers(**{"webhook-signature": None}), VECTOR_BODY, "missing"),
        (vector_headers(**{"webhook-id": ""}), VECTOR_BODY, "webhook-id"),
        (vector_headers(**{"webhook-timestamp": "yesterday"}), VECTOR_BODY, "integer"),
        (vector_headers(**{"webhook-signature": "v1"}), VECTOR_BODY, "malformed"),
        (vector_headers(**{"webhook-signature": "v1,%%%"}), VECTOR_BODY, "signature"),
        (vector_headers(), b"\xff\xfe", "UTF-8"),
    ],
)
def test_verify_rejects(headers, body, message):
    with pytest.raises(SignatureError, match=message):
        verify_signature(VECTOR_SECRET, headers, body, now=VECTOR_TIMESTAMP)


def test_verify_rejects_wrong_secret():
    with pytest.raises(SignatureError):
        verify_signature(generate_secret(), vector_headers(), VECTOR_BODY, now=VECTOR_TIMESTAMP)


def test_verify_tolerance_window():
    headers = vector_headers()
    verify_signature(VECTOR_SECRET, headers, VECTOR_BODY, 300, now=VECTOR_TIMESTAMP + 300)
    with pytest.raises(SignatureError, match="too old"):
        verify_signature(VECTOR_SECRET, headers, VECTOR_BODY, 300, now=VECTOR_TIMESTAMP + 301)
    with pytest.raises(SignatureError, match="too new"):
        verify_signature(VECTOR_SECRET, headers, VECTOR_BODY, 300, now=VECTOR_TIMESTAMP - 301)
    # A tolerance wider than the library's built-in five minutes is honoured as well.
    verify_signature(VECTOR_SECRET, headers, VECTOR_BODY, 3600, now=VECTOR_TIMESTAMP + 3000)


def test_verify_uses_current_time_by_default():
    with pytest.raises(SignatureError, match="too old"):
        verify_signature(VECTOR_SECRET, vector_headers(), VECTOR_BODY)


def test_invalid_secret_is_a_configuration_error_not_a_signature_error():
    with pytest.raises(ValueError, match="invalid webhook secret") as info:
        verify_signature("whsec_", vector_headers(), VECTOR_BODY, now=VECTOR_TIMESTAMP)
    assert not isinstance(info.value, SignatureError)
