"""Each console role can sign in and lands on a home page that speaks to its role."""

from tests.support.web import csrf_token, login


def test_every_role_signs_in_and_sees_its_guide(app, client, accounts):
    for role, account in accounts.items():
        login(client, account.username, account.password)
        page = client.get("/").get_data(as_text=True)
        assert f'data-role="{role}"' in page
        client.post("/logout/", data={"csrf_token": csrf_token(client, "/")})


def test_anonymous_home_redirects_to_login(client):
    resp = client.get("/")
    assert resp.status_code == 302
    assert "/login/" in resp.headers["Location"]
