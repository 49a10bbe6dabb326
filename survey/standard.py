"""The effect-goal template: the two goal questions and the background questions
the seeds name. Background questions are optional and always offer 'prefer not to say'."""

from __future__ import annotations

import copy

STANDARD_QUESTIONS: list[dict] = [
    {"key": "closer_to_labour_market", "kind": "likert5", "goal": "closer", "required": False,
     "text": {"sv": "Känner du dig närmare ett jobb eller studier nu än innan du började hos oss?",
              "en": "Do you feel closer to a job or studies now than before you started with us?",
              "ar": "هل تشعر أنك أقرب إلى عمل أو دراسة الآن مما كنت عليه قبل أن تبدأ معنا؟"}},
    {"key": "found_useful", "kind": "likert5", "goal": "useful", "required": False,
     "text": {"sv": "Har det du gjort hos oss varit till nytta för dig?",
              "en": "Has what you did with us been useful for you?",
              "ar": "هل كان ما فعلته معنا مفيدًا لك؟"}},
    {"key": "gender", "kind": "choice", "role": "gender",
     "options": ["woman", "man", "non_binary", "undisclosed"],
     "text": {"sv": "Vilket kön har du?", "en": "What is your gender?", "ar": "ما هو جنسك؟"}},
    {"key": "age_band", "kind": "choice", "role": "age_band", "options": ["16-19", "20-24", "undisclosed"],
     "text": {"sv": "Hur gammal är du?", "en": "How old are you?", "ar": "كم عمرك؟"}},
    {"key": "newly_arrived", "kind": "choice", "role": "newly_arrived", "options": ["yes", "no", "undisclosed"],
     "text": {"sv": "Har du kommit till Sverige under de senaste fyra åren?",
              "en": "Did you come to Sweden in the last four years?",
              "ar": "هل أتيت إلى السويد خلال السنوات الأربع الماضية؟"}},
    {"key": "disability", "kind": "choice", "role": "disability", "options": ["yes", "no", "undisclosed"],
     "text": {"sv": "Har du en funktionsnedsättning?", "en": "Do you have a disability?",
              "ar": "هل لديك إعاقة؟"}},
    {"key": "comment", "kind": "text",
     "text": {"sv": "Vill du säga något mer till oss?", "en": "Is there anything else you want to tell us?",
              "ar": "هل هناك شيء آخر تريد أن تخبرنا به؟"}},
]


def standard_questions() -> list[dict]:
    return copy.deepcopy(STANDARD_QUESTIONS)
