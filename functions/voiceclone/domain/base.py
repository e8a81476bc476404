"""The models' base: pydantic's BaseModel, its validators built on first use rather than at import.

A pydantic model builds its validator and serializer (its core schema) when its class is
defined, which for every model of the service together cost most of a handler's cold start
while each function uses a few of them. ``defer_build`` puts that off until a model first
validates or dumps, so a function pays for the models it touches. Behaviour is pydantic's own.
"""

from __future__ import annotations

import pydantic
from pydantic import ConfigDict


class BaseModel(pydantic.BaseModel):
    model_config = ConfigDict(defer_build=True)
