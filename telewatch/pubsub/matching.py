"""Which subscriptions want a sample: an index by meter name, then project and resource, so
a sample costs a few dictionary lookups however many subscriptions there are. Pure.

For each meter name seen, the index keeps the subscriptions whose meter list accepts it
(each list is tried once per name, not once per sample), split three ways:
- ``by_resource``: subscriptions with a resource filter, under each of their resource ids
  (their project scope is then checked, as a resource rarely changes project);
- ``by_project``: subscriptions confined to projects, without a resource filter, under each
  project;
- ``everywhere``: the rest (an admin's subscription to every project's resources).
"""

MAX_CACHED_NAMES = 10000


class _Candidates:
    __slots__ = ('everywhere', 'by_project', 'by_resource')

    def __init__(self, subscriptions):
        self.everywhere = []
        self.by_project = {}
        self.by_resource = {}
        for subscription in subscriptions:
            if subscription.resources is not None:
                for resource_id in subscription.resources:
                    self.by_resource.setdefault(resource_id, []).append(subscription)
            elif subscription.projects is not None:
                for project_id in subscription.projects:
                    self.by_project.setdefault(project_id, []).append(subscription)
            else:
                self.everywhere.append(subscription)


class SubscriptionIndex:
    """The subscriptions in force; ``match(name, project_id, resource_id)`` lists those that
    want such a sample, each once."""

    def __init__(self, subscriptions=()):
        self.subscriptions = tuple(subscriptions)
        self._by_name = {}

    def __len__(self):
        return len(self.subscriptions)

    def _candidates(self, name):
        if len(self._by_name) >= MAX_CACHED_NAMES:
            self._by_name.clear()
        candidates = self._by_name[name] = _Candidates(
            [subscription for subscription in self.subscriptions
             if subscription.accepts_meter(name)])
        return candidates

    def match(self, name, project_id, resource_id):
        candidates = self._by_name.get(name) or self._candidates(name)
        found = candidates.everywhere
        in_project = candidates.by_project.get(project_id)
        if in_project:
            found = found + in_project
        for_resource = candidates.by_resource.get(resource_id)
        if for_resource:
            found = found + [subscription for subscription in for_resource
                             if subscription.accepts_project(project_id)]
        return found


class Throttle:
    """A subscription's sampling interval: at most one sample per resource and meter per
    ``interval`` seconds of sample time (timestamps, not arrival: a backlog read at once is
    thinned as it was produced). Samples older than the last one let through are held back
    too, until the interval has passed since it."""

    def __init__(self, interval):
        self.interval = interval
        self._next = {}

    def allows(self, resource_id, name, timestamp):
        key = (resource_id, name)
        if timestamp < self._next.get(key, timestamp):
            return False
        self._next[key] = timestamp + self.interval
        return True
