from tests.factories import make_customer


def test_home_lists_customers(analyst_client):
    customer = make_customer(last_name="Martin")
    response = analyst_client.get("/")
    assert response.status_code == 200
    assert "MARTIN" in response.text
    assert f"/customers/{customer.pk}/" in response.text
