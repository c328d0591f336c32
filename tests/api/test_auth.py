"""Accounts and tokens, as the phone app uses them."""

from __future__ import annotations

import pytest

from tests.factories import PASSWORD
from workflows.roles import Role


def register(client, **body):
    return client.post("/api/v1/auth/register", json={"password": PASSWORD, **body})


def login(client, username, password=PASSWORD):
    return client.post("/api/v1/auth/login", json={"username": username, "password": password})


def test_register_returns_tokens_and_a_citizen_account(client):
    """A new citizen signs up with a phone number and is signed in at once."""
    response = register(client, phone="0912 345 678", full_name="Trần Thị Mai")
    assert response.status_code == 201
    body = response.get_json()
    assert body["user"]["role"] == "citizen"
    assert body["user"]["phone"] == "+84912345678"
    assert body["access_token"]
    assert body["refresh_token"]


@pytest.mark.parametrize("typed", ["0912345678", "0912 345 678", "+84912345678",
                                   "+84 912 345 678", "84912345678", "0912.345.678"])
def test_phone_forms_normalise_to_one_account(client, typed):
    """However a Vietnamese number is typed, it is the same account."""
    assert register(client, phone="0912-345-678").status_code == 201
    assert login(client, typed).status_code == 200
    again = register(client, phone=typed)
    assert again.status_code == 409
    assert again.get_json()["error"] == "account_exists"


def test_register_refuses_an_invalid_phone_with_a_field_error(client):
    """A number that cannot be a phone is a 422 on the phone field."""
    response = register(client, phone="12345")
    assert response.status_code == 422
    assert "phone" in response.get_json()["errors"]


def test_register_needs_a_phone_or_an_email(client):
    """Without either there is nothing to sign in with."""
    response = register(client, full_name="Ai đó")
    assert response.status_code == 422
    assert response.get_json()["error"] == "validation_error"


def test_register_refuses_a_short_password(client):
    """Passwords have at least 8 characters."""
    response = client.post("/api/v1/auth/register", json={"phone": "0912345678",
                                                          "password": "short"})
    assert response.status_code == 422
    assert "password" in response.get_json()["errors"]


def test_register_refuses_unknown_fields(client):
    """A client cannot make itself an admin by sending a role."""
    response = register(client, phone="0912345678", role="admin")
    assert response.status_code == 422
    assert "role" in response.get_json()["errors"]


def test_login_by_email_is_case_insensitive(client, make_user):
    """E-mail logins ignore case and surrounding spaces."""
    make_user(Role.OPERATOR, email="op@example.test")
    response = login(client, "  OP@Example.TEST ")
    assert response.status_code == 200
    assert response.get_json()["user"]["role"] == "operator"


@pytest.mark.parametrize("username", ["op@example.test", "nobody@example.test", "0999999999",
                                      "not a login"])
def test_login_with_a_wrong_password_or_unknown_user_is_401(client, make_user, username):
    """Wrong credentials give one answer whether or not the account exists."""
    make_user(Role.OPERATOR, email="op@example.test")
    response = login(client, username, "wrong password")
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_credentials"


def test_deactivated_account_cannot_sign_in(client, make_user):
    """An account an admin switched off is refused with its own code."""
    make_user(Role.CITIZEN, email="gone@example.test", is_active=False)
    response = login(client, "gone@example.test")
    assert response.status_code == 403
    assert response.get_json()["error"] == "account_inactive"


def test_me_returns_the_signed_in_account(client, make_user, auth):
    """GET /me answers who the token belongs to."""
    user = make_user(Role.STAFF)
    body = client.get("/api/v1/me", headers=auth(user)).get_json()
    assert body["id"] == user.id
    assert body["agency"]["id"] == user.agency_id


def test_me_without_a_token_is_401(client):
    """No token, no account."""
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"


def test_a_garbage_token_is_401_invalid_token(client):
    """A token that does not decode is refused in the common error shape."""
    response = client.get("/api/v1/me", headers={"Authorization": "Bearer not.a.jwt"})
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_token"


def test_refresh_gives_a_new_access_token(client):
    """A refresh token buys a new access token that works."""
    tokens = register(client, phone="0912345678").get_json()
    response = client.post("/api/v1/auth/refresh",
                           headers={"Authorization": f"Bearer {tokens['refresh_token']}"})
    assert response.status_code == 200
    access = response.get_json()["access_token"]
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {access}"}).status_code == 200


def test_an_access_token_cannot_refresh(client):
    """Only refresh tokens are accepted by /auth/refresh."""
    tokens = register(client, phone="0912345678").get_json()
    response = client.post("/api/v1/auth/refresh",
                           headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_token"


def test_logout_revokes_the_access_token(client):
    """After sign-out the same access token is refused."""
    tokens = register(client, phone="0912345678").get_json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 200
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"] == "token_revoked"


def test_logout_with_the_refresh_token_revokes_the_session(client):
    """Signing out with the refresh token in the body ends the whole session."""
    tokens = register(client, phone="0912345678").get_json()
    response = client.post("/api/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]},
                           headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert response.get_json()["revoked"] == ["access", "refresh"]
    refresh = client.post("/api/v1/auth/refresh",
                          headers={"Authorization": f"Bearer {tokens['refresh_token']}"})
    assert refresh.status_code == 401
    assert refresh.get_json()["error"] == "token_revoked"


def test_logout_cannot_revoke_someone_elses_token(client):
    """A refresh token of another account is not yours to revoke."""
    mine = register(client, phone="0912345678").get_json()
    theirs = register(client, phone="0987654321").get_json()
    response = client.post("/api/v1/auth/logout", json={"refresh_token": theirs["refresh_token"]},
                           headers={"Authorization": f"Bearer {mine['access_token']}"})
    assert response.status_code == 403


def test_a_deactivated_accounts_token_stops_working(client, make_user, auth, app):
    """Deactivation takes effect on tokens already issued."""
    from reports_app.extensions import db

    user = make_user(Role.CITIZEN)
    headers = auth(user)
    user.is_active = False
    db.session.commit()
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"] == "account_inactive"


def test_passwords_are_stored_with_argon2id(make_user):
    """Passwords are kept only as an Argon2id hash."""
    user = make_user(Role.CITIZEN)
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
