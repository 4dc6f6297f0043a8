"""A Tandem classifier in Python: tags messages by configurable keyword lists.

Configuration (JSON, every key optional):
    {"keywords": {"refund": ["refund", "money back"], "outage": ["down", "outage"]},
     "urgent_tag": "outage"}
A message mentioning any word of a list gets that list's tag; the `urgent_tag` also makes
the ticket urgent. Built with componentize-py against wit/v0.1.0 (world `classifier`).
"""

import json

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports import classify
from wit_world.imports import host, types

DEFAULT_KEYWORDS = {
    "refund": ["refund", "money back", "chargeback"],
    "outage": ["is down", "outage", "not loading"],
}


class Classify(exports.Classify):
    def classify(self, input: classify.Input) -> classify.Classification:
        try:
            config = json.loads(host.config() or "{}")
        except ValueError as e:
            raise Err(types.PluginError_InvalidConfig(f"configuration is not JSON: {e}"))
        if not isinstance(config, dict):
            raise Err(types.PluginError_InvalidConfig("configuration must be a JSON object"))
        keywords = config.get("keywords", DEFAULT_KEYWORDS)
        urgent_tag = config.get("urgent_tag", "outage")
        if not isinstance(keywords, dict):
            raise Err(types.PluginError_InvalidConfig("`keywords` must map tags to lists of words"))

        text = f"{input.message.subject}\n{input.message.text}".lower()
        tags = []
        hits = []
        for tag, words in keywords.items():
            for word in words:
                if str(word).lower() in text:
                    tags.append(str(tag))
                    hits.append(f"{tag}: \"{word}\"")
                    break
        host.log(host.LogLevel.INFO, f"python-example matched {len(tags)} tag(s)")
        return classify.Classification(
            add_tags=tags,
            priority=types.Priority.URGENT if urgent_tag in tags else None,
            category=None,
            language=None,
            spam=None,
            confidence=1.0 if tags else 0.0,
            reason="; ".join(hits) if hits else "no keyword matched",
        )
