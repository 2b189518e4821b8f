"""The official `openai` Python client against a running Parvis: chat completion, streaming,
model list and an error. Usage: python openai_client.py BASE_URL API_KEY"""

import sys

import openai

base_url, key = sys.argv[1], sys.argv[2]
client = openai.OpenAI(base_url=f"{base_url}/v1", api_key=key, max_retries=0)

models = [m.id for m in client.models.list()]
assert "parvis-assistant" in models, models

completion = client.chat.completions.create(
    model="parvis-assistant",
    messages=[{"role": "user", "content": "comment faire enlever un vieux canapé ?"}],
)
text = completion.choices[0].message.content
assert "encombrants" in text and "[1]" in text, text
assert completion.choices[0].finish_reason == "stop"

streamed = ""
for chunk in client.chat.completions.create(
    model="parvis-assistant",
    messages=[{"role": "user", "content": "how do I get a library card in Paris?"}],
    stream=True,
):
    if chunk.choices and chunk.choices[0].delta.content:
        streamed += chunk.choices[0].delta.content
assert "[1]" in streamed, streamed

try:
    client.chat.completions.create(model="gpt-4", messages=[{"role": "user", "content": "x"}])
    raise SystemExit("an unknown model must be refused")
except openai.BadRequestError as error:
    assert error.status_code == 400

bad = openai.OpenAI(base_url=f"{base_url}/v1", api_key="pvs_wrong", max_retries=0)
try:
    bad.models.list()
    raise SystemExit("a wrong key must be refused")
except openai.AuthenticationError:
    pass

print("openai client: ok")
