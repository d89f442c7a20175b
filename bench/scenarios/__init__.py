"""The six scenarios of issue 5, each a ``run(run, target)`` that returns a dict of figures."""
OK_STATUSES = (200, 201, 204)


def tally(results, groups, seen):
    """Losses and duplicates: every message sent OK must reach every member's stream exactly once.

    ``results``: the sender's [(client_id, group index, status, latency)]; ``groups``: [(id, [person…])];
    ``seen``: {person key: {client_id: times received}}.
    """
    expected = delivered = lost = duplicates = 0
    lost_examples = []
    sent_ok = 0
    for cid, index, status, _latency in results:
        if status not in OK_STATUSES:
            continue
        sent_ok += 1
        for person in groups[index][1]:
            expected += 1
            count = seen.get(person["key"], {}).get(cid, 0)
            if count == 0:
                lost += 1
                if len(lost_examples) < 5:
                    lost_examples.append({"client_id": cid, "person": person["key"]})
            else:
                delivered += 1
                duplicates += count - 1
    return {"sent_ok": sent_ok, "expected": expected, "delivered": delivered, "lost": lost,
            "duplicates": duplicates, "lost_examples": lost_examples}


def send_errors(results):
    """{status: count} of the sends that did not succeed."""
    errors = {}
    for _cid, _index, status, _latency in results:
        if status not in OK_STATUSES:
            errors[str(status)] = errors.get(str(status), 0) + 1
    return errors
