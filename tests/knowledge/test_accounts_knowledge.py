"""A person with an account but no ``[users]`` table reads the documents their role may read:
the knowledge tool asks by the role the runtime resolved (real model, real Chroma, real SQLite)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from lamworks import KnowledgeError, Runtime, load_config
from lamworks.knowledge import Embedder, KnowledgeBase, ingest_path
from lamworks.knowledge.plugin import LazyKnowledgeBase, answer_question

from .conftest import doc, write

pytestmark = pytest.mark.slow


class _Service:
    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb

    def get(self) -> KnowledgeBase:
        return self.kb


def test_an_account_only_teacher_reads_teacher_documents(kb: KnowledgeBase,
                                                         tmp_path: Path) -> None:
    folder = tmp_path / "school"
    write(folder, "answer-key.md", doc("Unit 3 answer key", "teacher",
          "# Unit 3 answer key\n\nQuestion 4: the producer in the food web is phytoplankton."))
    ingest_path(kb, folder, "school")
    config = tmp_path / "lamworks.toml"
    config.write_text("data_dir = 'rt'\nplanner = 'keyword'\n[institution]\nname = 'x'\n"
                      "[plugins]\nallow = []\n[roles.teacher]\naccess = ['public', 'teacher']\n"
                      "[roles.student]\n[auth]\nmode = 'accounts'\n", encoding="utf-8")
    runtime = Runtime(load_config(config))
    try:
        runtime.accounts.add("tia", role="teacher")  # an account only: not in [users]
        runtime.accounts.add("stu", role="student")
        teacher = replace(runtime.action_context("s", "tia"), services={"knowledge": _Service(kb)})
        student = replace(runtime.action_context("s", "stu"), services={"knowledge": _Service(kb)})
        question = "what is the producer in the food web for question 4?"
        assert "phytoplankton" in answer_question.function(teacher, question).summary
        assert "phytoplankton" not in answer_question.function(student, question).summary
    finally:
        runtime.close()


def test_the_runtime_knowledge_base_knows_accounts_live(embedder: Embedder,
                                                        tmp_path: Path) -> None:
    config = tmp_path / "lamworks.toml"
    config.write_text("data_dir = 'rt'\nplanner = 'keyword'\n[institution]\nname = 'x'\n"
                      "[roles.teacher]\naccess = ['public', 'teacher']\n[roles.student]\n"
                      "[users.sam]\nrole = 'student'\n[auth]\nmode = 'accounts'\n",
                      encoding="utf-8")
    runtime = Runtime(load_config(config))
    try:
        lazy = runtime.services["knowledge"]
        assert isinstance(lazy, LazyKnowledgeBase)
        kb = KnowledgeBase.open(tmp_path / "kb", embedder=embedder,
                                roles={"teacher": ["public", "teacher"], "student": ["public"]},
                                users=lazy.users)
        try:
            assert kb.access_for(user="sam") == ("public",)
            runtime.accounts.add("tia", role="teacher")  # after the knowledge base opened
            assert kb.access_for(user="tia") == ("public", "teacher")
            runtime.accounts.disable("tia")
            with pytest.raises(KnowledgeError, match="unknown user 'tia'"):
                kb.access_for(user="tia")
        finally:
            kb.close()
    finally:
        runtime.close()
