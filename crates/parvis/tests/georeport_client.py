"""An existing Open311 client (PyPI `georeport`, read-only) follows a report that an app posts
the way Open311 apps do (form-encoded, api_key in the body), in JSON and in XML.

Usage: georeport_client.py BASE_URL API_KEY
"""
import sys

import requests
from georeport import GeoReport

base, key = sys.argv[1], sys.argv[2]
root = f"{base}/open311/v2"

for output_format in ("json", "xml"):
    client = GeoReport(root, jurisdiction="paris.fr", output_format=output_format)
    services = client.get_service_list()
    codes = [s["service_code"] for s in services]
    assert "OBJ-01" in codes, codes[:5]
    assert len(services) == 141, len(services)
    definition = client.get_service_definition("OBJ-01")
    assert definition["service_code"] == "OBJ-01", definition

# An app posts a report (form-encoded, as the specification says).
posted = requests.post(
    f"{root}/requests.json",
    data={
        "api_key": key,
        "jurisdiction_id": "paris.fr",
        "service_code": "OBJ-01",
        "lat": "48.8606",
        "long": "2.3376",
        "description": "Un vieux canapé abandonné devant le 3 rue de Rivoli",
        "attribute[volume]": "moyen",
        "email": "resident@example.org",
    },
    timeout=10,
)
assert posted.status_code == 201, posted.text
request_id = posted.json()[0]["service_request_id"]

for output_format in ("json", "xml"):
    client = GeoReport(root, jurisdiction="paris.fr", output_format=output_format)
    one = client.get_service_request(request_id)
    assert one["service_request_id"] == request_id, one
    assert one["status"] == "open", one
    assert one["service_code"] == "OBJ-01", one
    assert "resident@example.org" not in str(one), one
    listed = client.get_service_requests(service_code="OBJ-01", status="open")
    if isinstance(listed, dict):  # xmltodict gives a dict for a single element
        listed = [listed]
    assert any(r["service_request_id"] == request_id for r in listed), listed

# Errors are Open311 arrays.
missing = requests.get(f"{root}/requests/999999.json", timeout=10)
assert missing.status_code == 404 and missing.json()[0]["code"] == 404, missing.text
print("georeport client OK:", request_id)
