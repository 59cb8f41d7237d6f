"""Declarative HTTP cases (tests/cases/api/*.yaml) against the in-process API: status codes,
Gnocchi's error texts and bodies, as data. Each file runs its steps in order on a fresh
store; see the head of archive_policies.yaml for the format (and subscriptions.yaml for a
file that sets options)."""

import json
import pathlib
import re

import pytest
import webtest
import yaml

from telewatch.api import app as app_mod


CASES = pathlib.Path(__file__).resolve().parents[2] / 'cases' / 'api'
ADMIN = {'Authorization': 'basic YWRtaW46'}  # gnocchi-basic, user admin
METHODS = ('GET', 'POST', 'PATCH', 'DELETE', 'PUT')
_PART = re.compile(r'([^.\[\]]+)|\[(\d+)\]')


def json_path(document, path):
    """``a.b[0].c`` of a JSON document."""
    value = document
    for key, index in _PART.findall(path):
        value = value[int(index)] if index else value[key]
    return value


class Steps:
    """What later steps may refer to: the previous response and URL."""

    def __init__(self):
        self.response = None
        self.url = None
        self.next = ''  # the previous step's Link rel="next"

    def expand(self, url):
        url = url.replace('$PREVIOUS_URL', (self.url or '').split('?')[0])
        if self.response is not None:
            url = url.replace('$LOCATION', self.response.headers.get('Location', ''))
            url = re.sub(r"\$RESPONSE\['([^']+)'\]",
                         lambda m: str(json_path(self.response.json, m.group(1))), url)
        if '$NEXT' in url:
            url = url.replace('$NEXT', self.next.replace('http://localhost', ''))
        return url


def raw_body(raw):
    """A ``raw`` text, or a list of texts and ``[text, times]`` pairs, joined."""
    if raw is None or isinstance(raw, str):
        return raw
    return ''.join(part if isinstance(part, str) else part[0] * part[1] for part in raw)


def run_step(api, steps, step):
    method = next(m for m in METHODS if m in step)
    url = steps.expand(step[method])
    headers = dict(ADMIN, **step.get('request_headers', {}))
    headers = {k: v for k, v in headers.items() if v}
    body = raw_body(step.get('raw'))
    if body is not None:
        body = steps.expand(body)
    if 'data' in step:
        body = json.dumps(step['data'])
        headers.setdefault('Content-Type', 'application/json')
    response = api.request(url, method=method, body=(body or '').encode(), headers=headers,
                           expect_errors=True)
    where = '%s: %s %s -> %s' % (step['name'], method, url, response.text[:500])
    assert response.status_int == step['status'], where
    for name, value in step.get('headers', {}).items():
        assert response.headers.get(name) == value, where
    for path, value in step.get('json', {}).items():
        assert json_path(response.json, path) == value, where
    for text in step.get('strings', []):
        assert text in response.text, where
    if 'count' in step:
        assert len(response.json) == step['count'], where
    steps.url = url
    steps.next = re.sub(r'^<(.*)>; rel="next"$', r'\1', response.headers.get('Link', ''))
    if response.content_type == 'application/json' and response.body:
        steps.response = response


def load_case(path):
    """``(options, steps)`` of a case file: a list of steps, or ``{options: {group:
    {option: value}}, steps: [...]}`` for steps that need other options than the
    defaults."""
    document = yaml.safe_load(path.read_text())
    if isinstance(document, list):
        return {}, document
    assert set(document) == {'options', 'steps'}, '%s: keys options and steps' % path.name
    return document['options'], document['steps']


@pytest.mark.parametrize('case', sorted(p.name for p in CASES.glob('*.yaml')))
def test_http_case(conf, store, case):
    options, steps = load_case(CASES / case)
    for group, values in options.items():
        for name, value in values.items():
            conf.set_override(name, value, group=group)
    api = webtest.TestApp(app_mod.make_app(conf, store))
    state = Steps()
    for step in steps:
        run_step(api, state, step)
