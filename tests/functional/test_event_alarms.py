"""Event alarms end to end: Nova's notifications (oslo.messaging's own Notifier on the real
RabbitMQ) reach telewatch-agent-notification with ``[alarms] event_alarms`` on; Heat's
auto-healing alarm (compute.instance.update, traits.instance_id and traits.state) in the
alarm store fires once, and its webhook (a local HTTP server) gets Aodh's body."""

import time

from oslo_context import context as oslo_context

from telewatch.alarms import storage
from tests.functional.bus_helpers import wait_for
from tests.functional.test_service_notifications import nova_notifier
from tests.unit.alarms.notifiers import webhook

INSTANCE = '3e0a1b2c-0000-4000-8000-0000000000aa'
PROJECT = '6c2a5fd6a3ac4c6e9ab6f5b39c3f5e21'


def _update(state, old_state):
    return {'tenant_id': PROJECT, 'user_id': 'u-1', 'instance_id': INSTANCE,
            'display_name': 'web-01', 'host': 'cmp-07', 'state': state,
            'old_state': old_state, 'memory_mb': 2048}


def test_heats_auto_healing_alarm_fires_on_the_instance_in_error(
        deployment, rabbitmq_url, tmp_path):
    store = storage.AlarmStore('sqlite:///%s' % (tmp_path / 'alarms.sqlite'))
    store.upgrade()
    with webhook.Webhook() as hook:
        alarm = store.create({
            'name': 'autoheal', 'type': 'event', 'project_id': PROJECT, 'user_id': 'u-1',
            'state': 'insufficient data', 'alarm_actions': [hook.url + '/signal'],
            'rule': {'event_type': 'compute.instance.update', 'query': [
                {'field': 'traits.instance_id', 'op': 'eq', 'value': INSTANCE,
                 'type': 'string'},
                {'field': 'traits.state', 'op': 'eq', 'value': 'error', 'type': 'string'}]}})
        agent = deployment.start('telewatch-agent-notification', conf_text=(
            '[alarms]\nevent_alarms = true\nconnection = sqlite:///%s\n'
            'event_alarm_cache_ttl = 0\n' % (tmp_path / 'alarms.sqlite')))
        assert wait_for(lambda: 'consuming' in agent.log.read_text()), agent.log.read_text()
        transport, notifier = nova_notifier(rabbitmq_url, deployment.notifications_topic)
        # a request context as Nova's (oslo.messaging sends no plain dict's)
        context = oslo_context.RequestContext(project_id=PROJECT, user_id='u-1',
                                              request_id='req-1')
        notifier.info(context, 'compute.instance.update', _update('active', 'building'))
        notifier.info(context, 'compute.instance.update', _update('error', 'active'))
        notifier.info(context, 'compute.instance.update', _update('error', 'error'))
        transport.cleanup()
        assert wait_for(lambda: hook.received), agent.log.read_text()[-3000:]
        assert wait_for(lambda: any(entry['type'] == 'action' for entry in
                                    store.history(alarm['alarm_id']))), \
            agent.log.read_text()[-3000:]
        time.sleep(1)  # the third notification would have fired by now
        path, headers, body = hook.received[0]
    assert len(hook.received) == 1
    assert path == '/signal'
    assert body['alarm_id'] == alarm['alarm_id'] and body['alarm_name'] == 'autoheal'
    assert (body['previous'], body['current']) == ('insufficient data', 'alarm')
    assert body['reason'].startswith('Event <id=') and 'hits the query' in body['reason']
    traits = {name: value for name, _, value in body['reason_data']['event']['traits']}
    assert traits['instance_id'] == INSTANCE and traits['state'] == 'error'
    assert traits['request_id'] == 'req-1' and traits['service'] == 'compute'
    stored = store.get(alarm['alarm_id'])
    assert stored['state'] == 'alarm'
    history = store.history(alarm['alarm_id'])
    assert [e['type'] for e in history].count('state transition') == 1
    [action] = [e for e in history if e['type'] == 'action']
    assert '"outcome": "delivered"' in action['detail']
    store.close()
