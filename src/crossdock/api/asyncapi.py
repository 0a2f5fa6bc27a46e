"""The AsyncAPI 3.0 document of the event catalogue: every event type Crossdock publishes, its CloudEvents
envelope and the JSON Schema of its data, so partners can generate code for the webhooks they subscribe to."""

from __future__ import annotations

import functools
from typing import Any

from crossdock.events.catalogue import CATALOGUE, EventTypeSpec

ASYNCAPI_VERSION = "3.0.0"


def _envelope(message_name: str, spec: EventTypeSpec) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["specversion", "id", "source", "type", "subject", "time", "data"],
        "properties": {
            "specversion": {"const": "1.0"},
            "id": {"type": "string", "description": "unique per event; receivers de-duplicate by it"},
            "source": {"type": "string", "description": "the system or flow that emitted the event"},
            "type": {"const": spec.type},
            "subject": {"type": "string", "description": "the canonical id of the business object"},
            "time": {"type": "string", "format": "date-time"},
            "datacontenttype": {"const": "application/json"},
            "traceparent": {"type": "string", "description": "W3C trace context"},
            "correlationid": {"type": "string"},
            "businesskeys": {"type": "object", "additionalProperties": {"type": "string"}},
            "partnerid": {"type": "string", "description": "the trading partner the event concerns"},
            "data": {"$ref": f"#/components/schemas/{spec.data_entity}"},
        },
        "title": message_name,
    }


@functools.cache
def asyncapi_document(title: str = "Crossdock events", version: str = "1") -> dict[str, Any]:
    """The document (built once per process: the catalogue is fixed at import)."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for spec in CATALOGUE:
        name = spec.subject.removeprefix("crossdock.").replace(".", "_")
        model = CATALOGUE.model_for(spec.type)
        if spec.data_entity not in schemas:
            schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode="serialization")
            for definition_name, definition in schema.pop("$defs", {}).items():
                schemas.setdefault(definition_name, definition)
            schemas[spec.data_entity] = schema
        messages[name] = {
            "name": spec.type,
            "title": f"{spec.entity} {spec.verb}",
            "summary": spec.description,
            "contentType": "application/cloudevents+json",
            "payload": _envelope(name, spec),
        }
        channels[name] = {
            "address": spec.type,
            "description": spec.description,
            "messages": {name: {"$ref": f"#/components/messages/{name}"}},
        }
        operations[f"publish_{name}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{name}"},
            "summary": f"Crossdock publishes {spec.type}; subscribe to it with POST /v1/webhooks/subscriptions",
        }
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": title,
            "version": version,
            "description": (
                "Business events Crossdock publishes, as CloudEvents 1.0 in structured JSON mode. Partners receive "
                "them as Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature)."
            ),
        },
        "defaultContentType": "application/cloudevents+json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }
