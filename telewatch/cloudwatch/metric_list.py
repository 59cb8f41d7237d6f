"""ListMetrics: the project's metrics (those put through CloudWatch and the AWS/EC2 view),
filtered by Namespace, MetricName, Dimensions and RecentlyActive, 500 a page.

Metrics are listed in (namespace, name, dimensions) order; NextToken is the last one given
(urlsafe base64 of JSON), so a page after metrics created meanwhile is still consistent.
"""

import base64
import binascii
import contextlib
import datetime
import json

from telewatch.archive import errors as archive_errors
from telewatch.cloudwatch import ec2
from telewatch.cloudwatch import errors
from telewatch.cloudwatch import mapping

PAGE = 500
_ACTIVE = datetime.timedelta(hours=3)


def encode_token(value):
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


def decode_token(token):
    """The JSON value of a NextToken; InvalidNextToken if it is not one of ours."""
    try:
        return json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, binascii.Error, UnicodeError):
        raise errors.InvalidNextToken('The service cannot decode the NextToken.') from None


def _matches(dimensions, filters):
    for wanted in filters:
        if wanted['Name'] not in dimensions:
            return False
        if 'Value' in wanted and dimensions[wanted['Name']] != wanted['Value']:
            return False
    return True


def _own(ctx, params):
    """``[(sort key, MetricKey, metric id)]`` of the metrics put through CloudWatch."""
    mapping.setup(ctx.store)
    query = [{'=': {'project_id': ctx.project_id}}]
    if 'Namespace' in params:
        query.append({'=': {'namespace': params['Namespace']}})
    out, marker = [], None
    while True:
        page = ctx.store.index.search_resources(
            mapping.RESOURCE_TYPE, {'and': query}, sort=['id:asc'], marker=marker)
        for resource in page:
            dims = json.loads(resource.attributes['dimensions'])
            if not _matches(dims, params.get('Dimensions', ())):
                continue
            for name, metric_id in resource.metrics.items():
                if params.get('MetricName', name) == name:
                    key = mapping.MetricKey(resource.attributes['namespace'], name,
                                            tuple(sorted(dims.items())))
                    out.append((_sort_key(key), key, metric_id))
        if len(page) < ctx.store.index.MAX_LIMIT:
            return out
        marker = ctx.store.index.marker_of(page[-1])


def _sort_key(key):
    return [key.namespace, key.metric_name, key.dimensions_text()]


def _views(ctx, params):
    if params.get('Namespace', ec2.NAMESPACE) != ec2.NAMESPACE:
        return []
    out = []
    for key, _ in ec2.listed(ctx):
        if params.get('MetricName', key.metric_name) == key.metric_name and \
                _matches(dict(key.dimensions), params.get('Dimensions', ())):
            out.append((_sort_key(key), key, None))
    return out


def _active(ctx, candidates):
    """The candidates with data in the last three hours."""
    records = ctx.store.index.get_metrics([mid for _, _, mid in candidates if mid])
    wanted = {}
    for i, (_, key, mid) in enumerate(candidates):
        metric = records.get(mid) if mid else None
        if metric is None and mid is None:
            view = ec2.find(ctx, key)
            metric = view.sources[0] if view else None
        if metric is not None:
            policy = ctx.store.index.get_archive_policy(metric.archive_policy_name)
            method = 'count' if 'count' in policy.methods else policy.methods[0]
            wanted[i] = (metric, policy.granularities[0] / 1e9, method, ctx.now - _ACTIVE)
    if not wanted:
        return []
    with contextlib.suppress(archive_errors.MetricLocked):
        ctx.store.refresh(sorted({m.id for m, *_ in wanted.values()}))
    found = ctx.store.many_series(wanted)
    return [candidates[i] for i, series in found.items()
            if not isinstance(series, Exception) and len(series[0])]


def list_metrics(ctx, params):
    """ListMetrics (see the module's docstring)."""
    after = decode_token(params['NextToken']) if 'NextToken' in params else None
    if after is not None and not (isinstance(after, list) and len(after) == 3):
        raise errors.InvalidNextToken('The service cannot decode the NextToken.')
    candidates = sorted(_own(ctx, params) + _views(ctx, params), key=lambda c: c[0])
    if after is not None:
        candidates = [c for c in candidates if c[0] > after]
    page = []
    recent = params.get('RecentlyActive') == 'PT3H'
    while candidates and len(page) < PAGE:
        chunk, candidates = candidates[:PAGE - len(page)], candidates[PAGE - len(page):]
        page.extend(_active(ctx, chunk) if recent else chunk)
    page.sort(key=lambda c: c[0])
    out = {'Metrics': [{'Namespace': k.namespace, 'MetricName': k.metric_name,
                        'Dimensions': k.dimension_list()} for _, k, _ in page]}
    if candidates:
        out['NextToken'] = encode_token(page[-1][0])
    return out
