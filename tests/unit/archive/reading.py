"""Reading a metric's aggregates as the API does (the store's public calls), for tests."""


def measures(store, metric_id, granularity=None, method='mean', refresh=False):
    """``[(timestamp datetime64, granularity s, value)]`` of a metric, coarsest first."""
    metric = store.index.get_metrics([metric_id])[metric_id]
    return [(stamp, g, value)
            for g, stamps, values in store.series(metric, granularity, method,
                                                  refresh=refresh)
            for stamp, value in zip(stamps, values.tolist())]
