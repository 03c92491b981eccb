"""Kubernetes Events as the real event recorder keeps them.

client-go's EventCorrelator does two things the reader will meet in
``kubectl describe``:

* an event identical to an earlier one (same object, reason, message) only
  increments that event's ``count``;
* similar events (same object, type and reason, different messages) are
  kept one by one until 10 have been seen; from then on they are folded into
  ONE event whose message starts "(combined from similar events): " and is
  rewritten with the latest message.  That is why a long rollout's
  ScalingReplicaSet events are incomplete: 9 single steps, then one combined
  event — and why ``rs_steps``, not events, carry the full sequence.
"""

from __future__ import annotations

from ..timeline import Event, Timeline

MAX_SIMILAR = 10
COMBINED_PREFIX = "(combined from similar events): "


class EventRecorder:
    def __init__(self, timeline: Timeline):
        self._timeline = timeline
        self._identical: dict[tuple, Event] = {}
        self._similar: dict[tuple, set] = {}
        self._combined: dict[tuple, Event] = {}

    def emit(self, t: float, kind: str, name: str, reason: str, message: str,
             type_: str = "Normal") -> None:
        t = round(t, 6)
        similar_key = (kind, name, type_, reason)
        seen = self._similar.setdefault(similar_key, set())
        seen.add(message)
        if len(seen) >= MAX_SIMILAR:
            combined = self._combined.get(similar_key)
            text = COMBINED_PREFIX + message
            if combined is None:
                combined = Event(t, kind, name, reason, text, 1, type_, t)
                self._combined[similar_key] = combined
                self._timeline.events.append(combined)
            else:
                combined.count += 1
                combined.message = text
                combined.last_t = t
            return
        key = (kind, name, type_, reason, message)
        event = self._identical.get(key)
        if event is not None:
            event.count += 1
            event.last_t = t
            return
        event = Event(t, kind, name, reason, message, 1, type_, t)
        self._identical[key] = event
        self._timeline.events.append(event)
