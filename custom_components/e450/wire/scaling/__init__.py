"""Scales a push leaves to convention: the conventions makers and utilities define, the physics every meter's
numbers obey, and the judge that settles each register's power of ten from them, or holds it back."""

from .conventions import CONVENTIONS, Convention
from .judge import ScaleJudge, Verdict
from .physics import Doubt, Group

__all__ = ["CONVENTIONS", "Convention", "Doubt", "Group", "ScaleJudge", "Verdict"]
