"""The six scenarios of issue 5, each a ``run(run, target)`` that returns a dict of figures."""
OK_STATUSES = (200, 201, 204)


def tally(results, groups, seen):
    """Losses and duplicates: every message sent OK must reach every member's stream exactly once.

    ``results``: the sender's [(client_id, group index, status, latency)] in send order; ``groups``:
    [(id, [person…])]; ``seen``: {person key: {client_id: times received}}. A loss is a *gap* when the
    person received a later message of the same conversation (the stream skipped it for good), else a
    *tail* (the stream had not caught up, or was down, when counting stopped).
    """
    expected = delivered = lost = gaps = duplicates = 0
    lost_examples = []
    sent_ok = 0
    later = {}  # (group index, person key) -> received a later message of that group
    for cid, index, status, _latency in reversed(results):
        if status not in OK_STATUSES:
            continue
        for person in groups[index][1]:
            key = (index, person["key"])
            count = seen.get(person["key"], {}).get(cid, 0)
            if count == 0:
                lost += 1
                gap = later.get(key, False)
                gaps += gap
                if len(lost_examples) < 10:
                    lost_examples.append({"client_id": cid, "person": person["key"], "gap": gap})
            else:
                later[key] = True
        sent_ok += 1
    for cid, index, status, _latency in results:
        if status not in OK_STATUSES:
            continue
        for person in groups[index][1]:
            expected += 1
            count = seen.get(person["key"], {}).get(cid, 0)
            if count:
                delivered += 1
                duplicates += count - 1
    return {"sent_ok": sent_ok, "expected": expected, "delivered": delivered, "lost": lost, "lost_gaps": gaps,
            "lost_tail": lost - gaps, "duplicates": duplicates, "lost_examples": lost_examples}


def send_errors(results):
    """{status: count} of the sends that did not succeed."""
    errors = {}
    for _cid, _index, status, _latency in results:
        if status not in OK_STATUSES:
            errors[str(status)] = errors.get(str(status), 0) + 1
    return errors
