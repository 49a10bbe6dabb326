"""The effect-goal template: the two goal questions and the background questions
the seeds name. Background questions are optional and always offer 'prefer not to say'.

Every question is ready-made in every shipped language and in easy-read Swedish (lattlast,
written after MTM's guidance: short sentences, one thing at a time, common words). The
background answers' texts are in the catalogues (msgid "opt:<value>"). The Dari, Somali,
Tigrinya, Ukrainian and easy-read texts are machine-assisted and wait for a native speaker's
review like their catalogues (docs/languages.md)."""

from __future__ import annotations

import copy

STANDARD_QUESTIONS: list[dict] = [
    {"key": "closer_to_labour_market", "kind": "likert5", "goal": "closer", "required": False,
     "text": {
         "sv": "Känner du dig närmare ett jobb eller studier nu än innan du började hos oss?",
         "lattlast": "Är du närmare ett jobb eller en utbildning nu? Jämför med hur det var innan du började hos oss.",
         "en": "Do you feel closer to a job or studies now than before you started with us?",
         "ar": "هل تشعر أنك أقرب إلى عمل أو دراسة الآن مما كنت عليه قبل أن تبدأ معنا؟",
         "prs": "آیا حالا نسبت به پیش از آمدن نزد ما، خود را به کار یا درس نزدیک‌تر احساس می‌کنید؟",
         "so": "Ma dareemaysaa inaad hadda u dhowdahay shaqo ama waxbarasho marka loo eego ka hor intaadan nala bilaabin?",
         "ti": "ቅድሚ ምሳና ምጅማርኩም ምስ ዝነበረ ክወዳደር፡ ሕጂ ናብ ስራሕ ወይ ትምህርቲ ከም ዝቐረብኩም ይስምዓኩም ድዩ?",
         "uk": "Чи відчуваєш ти, що зараз ти ближче до роботи чи навчання, ніж до того, як почав(-ла) з нами?",
     }},
    {"key": "found_useful", "kind": "likert5", "goal": "useful", "required": False,
     "text": {
         "sv": "Har det du gjort hos oss varit till nytta för dig?",
         "lattlast": "Har du fått hjälp av det du gjort hos oss?",
         "en": "Has what you did with us been useful for you?",
         "ar": "هل كان ما فعلته معنا مفيدًا لك؟",
         "prs": "آیا کارهایی که با ما کردید، برای شما مفید بوده است؟",
         "so": "Waxa aad nala samaysay ma kuu faa'iido lahaa?",
         "ti": "እቲ ምሳና ዝገበርኩምዎ ጠቓሚ ኮይኑኩም ድዩ?",
         "uk": "Чи було корисним для тебе те, що ти робив(-ла) з нами?",
     }},
    {"key": "gender", "kind": "choice", "role": "gender", "options": ["woman", "man", "non_binary", "undisclosed"],
     "text": {
         "sv": "Vilket kön har du?",
         "lattlast": "Vilket kön har du?",
         "en": "What is your gender?",
         "ar": "ما هو جنسك؟",
         "prs": "جنسیت شما چیست؟",
         "so": "Waa maxay jinsigaagu?",
         "ti": "ጾታኹም እንታይ እዩ?",
         "uk": "Яка твоя стать?",
     }},
    {"key": "age_band", "kind": "choice", "role": "age_band", "options": ["16-19", "20-24", "undisclosed"],
     "text": {
         "sv": "Hur gammal är du?",
         "lattlast": "Hur gammal är du?",
         "en": "How old are you?",
         "ar": "كم عمرك؟",
         "prs": "چند سال دارید؟",
         "so": "Immisa jir baad tahay?",
         "ti": "ዕድመኹም ክንደይ እዩ?",
         "uk": "Скільки тобі років?",
     }},
    {"key": "newly_arrived", "kind": "choice", "role": "newly_arrived", "options": ["yes", "no", "undisclosed"],
     "text": {
         "sv": "Har du kommit till Sverige under de senaste fyra åren?",
         "lattlast": "Kom du till Sverige för fyra år sedan eller senare?",
         "en": "Did you come to Sweden in the last four years?",
         "ar": "هل أتيت إلى السويد خلال السنوات الأربع الماضية؟",
         "prs": "آیا در چهار سال گذشته به سویدن آمده‌اید؟",
         "so": "Ma timid Iswiidhan afartii sano ee la soo dhaafay gudahood?",
         "ti": "ኣብዘን ዝሓለፋ ኣርባዕተ ዓመታት ናብ ሽወደን መጺእኩም ዶ?",
         "uk": "Чи ти приїхав(-ла) до Швеції протягом останніх чотирьох років?",
     }},
    {"key": "disability", "kind": "choice", "role": "disability", "options": ["yes", "no", "undisclosed"],
     "text": {
         "sv": "Har du en funktionsnedsättning?",
         "lattlast": "Har du en funktionsnedsättning?",
         "en": "Do you have a disability?",
         "ar": "هل لديك إعاقة؟",
         "prs": "آیا کدام معلولیت دارید؟",
         "so": "Ma leedahay naafonimo?",
         "ti": "ስንክልና ኣለኩም ዶ?",
         "uk": "Чи маєш ти інвалідність?",
     }},
    {"key": "comment", "kind": "text",
     "text": {
         "sv": "Vill du säga något mer till oss?",
         "lattlast": "Vill du säga något mer till oss?",
         "en": "Is there anything else you want to tell us?",
         "ar": "هل هناك شيء آخر تريد أن تخبرنا به؟",
         "prs": "آیا چیز دیگری هست که بخواهید به ما بگویید؟",
         "so": "Ma jiraa wax kale oo aad rabto inaad noo sheegto?",
         "ti": "ካልእ ክትነግሩና እትደልዩ ነገር ኣሎ ዶ?",
         "uk": "Чи хочеш ти розповісти нам ще щось?",
     }},
]


def standard_questions() -> list[dict]:
    return copy.deepcopy(STANDARD_QUESTIONS)
