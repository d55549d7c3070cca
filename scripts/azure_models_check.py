#!/usr/bin/env python3
"""Feeds vhdtool's `definition show --json` and `version show --json` to Azure's own models.

Usage: azure_models_check.py DEFINITION.json VERSION.json

Each document is nested under "properties" as the REST API nests it (all keys but name, id,
type, location and tags), deserialized with azure-mgmt-compute's GalleryImage and
GalleryImageVersion, and walked key by key: every key must be one the model knows (or one of
vhdtool's documented extras), and come through with its value and type. Prints "ok" or the
problems, one a line, and exits 1.
"""
import datetime
import json
import sys

from azure.mgmt.compute.models import GalleryImage, GalleryImageVersion

TOP_LEVEL = {"name", "id", "type", "location", "tags"}
# vhdtool's own fields, which Azure's models do not have: of a disk image, and the version's
# progress over all its replication jobs (in replicationStatus).
EXTRAS = {"virtualSize", "occupiedBytes", "digest", "progress", "doneBytes", "totalBytes"}
problems = []


def nest(document):
    body = {key: value for key, value in document.items() if key in TOP_LEVEL}
    body["properties"] = {key: value for key, value in document.items() if key not in TOP_LEVEL}
    return body


def same(value, got, path):
    if isinstance(got, datetime.datetime):
        text = value.replace("Z", "+00:00")
        if got != datetime.datetime.fromisoformat(text):
            problems.append(f"{path}: {value!r} came through as {got!r}")
    elif isinstance(value, bool):
        if not isinstance(got, bool) or got != value:
            problems.append(f"{path}: {value!r} came through as {got!r} ({type(got).__name__})")
    elif isinstance(value, int):
        if isinstance(got, bool) or not isinstance(got, int) or got != value:
            problems.append(f"{path}: {value!r} came through as {got!r} ({type(got).__name__})")
    elif isinstance(value, str):
        if not isinstance(got, str) or str(got) != value and getattr(got, "value", None) != value:
            problems.append(f"{path}: {value!r} came through as {got!r} ({type(got).__name__})")
    elif value != got:
        problems.append(f"{path}: {value!r} came through as {got!r}")


def is_model(value):
    return hasattr(value, "_attr_to_rest_field") or hasattr(value, "_attribute_map")


def field_names(model):
    """JSON key -> Python attribute, for the SDK's current models and for older msrest ones."""
    if hasattr(model, "_attr_to_rest_field"):
        return {field._rest_name: attribute for attribute, field in model._attr_to_rest_field.items()}
    return {spec["key"]: attribute for attribute, spec in model._attribute_map.items()}


def load(model_type, body):
    return model_type.deserialize(body) if hasattr(model_type, "deserialize") else model_type(body)


def walk(model, data, path):
    names = field_names(model)
    for key, value in data.items():
        if key not in names:
            if key not in EXTRAS:
                problems.append(f"{path}{key}: not a field of {type(model).__name__}")
            continue
        got = getattr(model, names[key])
        if got is None:
            problems.append(f"{path}{key}: lost (None in {type(model).__name__})")
        elif isinstance(value, dict) and is_model(got):
            walk(got, value, f"{path}{key}.")
        elif isinstance(value, list):
            if len(value) != len(got):
                problems.append(f"{path}{key}: {len(value)} items came through as {len(got)}")
            for index, (item, got_item) in enumerate(zip(value, got)):
                if isinstance(item, dict):
                    walk(got_item, item, f"{path}{key}[{index}].")
                else:
                    same(item, got_item, f"{path}{key}[{index}]")
        else:
            same(value, got, f"{path}{key}")


def main():
    definition = json.load(open(sys.argv[1]))
    version = json.load(open(sys.argv[2]))
    walk(load(GalleryImage, nest(definition)), nest(definition), "definition.")
    walk(load(GalleryImageVersion, nest(version)), nest(version), "version.")
    if problems:
        print("\n".join(problems))
        sys.exit(1)
    print("ok")


main()
