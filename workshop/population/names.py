"""The tables residents are drawn from: names, Guangzhou's districts and their streets.

Weights are rough orders of magnitude, enough for a population that looks like Guangzhou's
(Chen, Li and Huang are the commonest surnames of Guangdong; Baiyun and Panyu the most populous
districts, 2020 census), not statistics to quote.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Sex = Literal["female", "male"]


@dataclass(frozen=True)
class Bilingual:
    """A name as written in Chinese and in Latin letters (pinyin without tone marks, as on a
    passport: 欧阳 "Ouyang"; or the English name of a street)."""

    hanzi: str
    latin: str


@dataclass(frozen=True)
class District:
    code: str  # GB/T 2260 address code: the first six digits of a resident ID registered there
    name: str  # English, as the ground truth names it
    hanzi: str
    weight: int  # population, in tens of thousands (2020 census, rounded)
    streets: tuple[Bilingual, ...]  # (Chinese, English) street names


def _pairs(*items: tuple[str, str]) -> tuple[Bilingual, ...]:
    return tuple(Bilingual(hanzi, latin) for hanzi, latin in items)


# Surname -> relative frequency among Guangdong residents (rough).
SURNAMES: tuple[tuple[Bilingual, int], ...] = tuple(
    (Bilingual(hanzi, latin), weight)
    for hanzi, latin, weight in (
        ("陈", "Chen", 12), ("李", "Li", 8), ("黄", "Huang", 7), ("张", "Zhang", 6), ("梁", "Liang", 5),
        ("林", "Lin", 4), ("刘", "Liu", 4), ("吴", "Wu", 3), ("罗", "Luo", 3), ("何", "He", 3),
        ("郑", "Zheng", 3), ("王", "Wang", 3), ("杨", "Yang", 3), ("周", "Zhou", 2), ("谢", "Xie", 2),
        ("冯", "Feng", 2), ("邓", "Deng", 2), ("曾", "Zeng", 2), ("叶", "Ye", 2), ("郭", "Guo", 2),
        ("钟", "Zhong", 2), ("朱", "Zhu", 2), ("赖", "Lai", 1), ("徐", "Xu", 1), ("麦", "Mai", 1),
        ("莫", "Mo", 1), ("谭", "Tan", 1), ("苏", "Su", 1), ("卢", "Lu", 1), ("蔡", "Cai", 1),
        ("潘", "Pan", 1), ("区", "Ou", 1), ("欧阳", "Ouyang", 1), ("司徒", "Situ", 1),
    )
)  # fmt: skip

# Characters of given names, one or two of them per name. 安 and 恩 begin with a vowel, so that
# the apostrophe rule of pinyin (Xiao'an) is exercised.
GIVEN: dict[Sex, tuple[Bilingual, ...]] = {
    "female": _pairs(
        ("芳", "Fang"), ("敏", "Min"), ("静", "Jing"), ("丽", "Li"), ("婷", "Ting"), ("雪", "Xue"),
        ("慧", "Hui"), ("燕", "Yan"), ("玲", "Ling"), ("洁", "Jie"), ("琳", "Lin"), ("颖", "Ying"),
        ("欣", "Xin"), ("怡", "Yi"), ("晓", "Xiao"), ("佳", "Jia"), ("雅", "Ya"), ("梅", "Mei"),
        ("霞", "Xia"), ("红", "Hong"), ("丹", "Dan"), ("萍", "Ping"), ("诗", "Shi"), ("涵", "Han"),
        ("嘉", "Jia"), ("悦", "Yue"), ("思", "Si"), ("安", "An"),
    ),
    "male": _pairs(
        ("伟", "Wei"), ("军", "Jun"), ("洋", "Yang"), ("强", "Qiang"), ("磊", "Lei"), ("勇", "Yong"),
        ("杰", "Jie"), ("涛", "Tao"), ("明", "Ming"), ("超", "Chao"), ("华", "Hua"), ("建", "Jian"),
        ("国", "Guo"), ("志", "Zhi"), ("浩", "Hao"), ("俊", "Jun"), ("宇", "Yu"), ("鹏", "Peng"),
        ("斌", "Bin"), ("辉", "Hui"), ("峰", "Feng"), ("鑫", "Xin"), ("子", "Zi"), ("轩", "Xuan"),
        ("博", "Bo"), ("文", "Wen"), ("海", "Hai"), ("晨", "Chen"), ("恩", "En"),
    ),
}  # fmt: skip


@dataclass(frozen=True)
class Origin:
    """Foreign residents' names, given name first, by where their families come from."""

    given: dict[Sex, tuple[str, ...]]
    surnames: tuple[str, ...]


# Guangzhou's foreign residents: traders from West Africa (Xiaobei, in Yuexiu), Europeans, Americans,
# South Asians and Latin Americans working in Tianhe and Panyu.
FOREIGN_ORIGINS: tuple[Origin, ...] = (
    Origin({"female": ("Maria", "Anna", "Katharina", "Julia"), "male": ("Thomas", "Lukas", "Stefan", "Jan")},
           ("Schmidt", "Müller", "Weber", "Fischer", "Becker")),
    Origin({"female": ("Camille", "Claire", "Léa"), "male": ("Pierre", "Julien", "Antoine")},
           ("Martin", "Bernard", "Dubois", "Lefèvre")),
    Origin({"female": ("Emily", "Sarah", "Olivia", "Jessica"), "male": ("James", "Michael", "Daniel", "Ryan")},
           ("Smith", "Johnson", "Brown", "Taylor", "Walker")),
    Origin({"female": ("Chioma", "Ngozi", "Adaeze", "Funmilayo"), "male": ("Chinedu", "Emeka", "Oluwaseun", "Ikenna")},
           ("Okafor", "Adeyemi", "Nwosu", "Eze", "Balogun")),
    Origin({"female": ("Ana", "Beatriz", "Larissa"), "male": ("João", "Lucas", "Rafael")},
           ("Silva", "Santos", "Oliveira", "Souza")),
    Origin({"female": ("Priya", "Ananya", "Kavya"), "male": ("Arjun", "Rahul", "Vikram")},
           ("Sharma", "Patel", "Iyer", "Reddy")),
    Origin({"female": ("Giulia", "Francesca"), "male": ("Marco", "Luca")},
           ("Rossi", "Russo", "Ferrari", "Bianchi")),
)  # fmt: skip


DISTRICTS: tuple[District, ...] = (
    District("440103", "Liwan", "荔湾区", 112, _pairs(
        ("中山八路", "Zhongshan 8th Road"), ("龙津西路", "Longjin West Road"), ("康王中路", "Kangwang Middle Road"),
        ("芳村大道", "Fangcun Avenue"), ("宝华路", "Baohua Road"))),
    District("440104", "Yuexiu", "越秀区", 104, _pairs(
        ("北京路", "Beijing Road"), ("东风中路", "Dongfeng Middle Road"), ("环市东路", "Huanshi East Road"),
        ("解放北路", "Jiefang North Road"), ("农林下路", "Nonglin Lower Road"))),
    District("440105", "Haizhu", "海珠区", 182, _pairs(
        ("江南大道中", "Jiangnan Avenue Middle"), ("新港西路", "Xingang West Road"), ("工业大道", "Gongye Avenue"),
        ("宝岗大道", "Baogang Avenue"), ("昌岗中路", "Changgang Middle Road"))),
    District("440106", "Tianhe", "天河区", 224, _pairs(
        ("体育西路", "Tiyu West Road"), ("天河北路", "Tianhe North Road"), ("黄埔大道西", "Huangpu Avenue West"),
        ("中山大道西", "Zhongshan Avenue West"), ("五山路", "Wushan Road"))),
    District("440111", "Baiyun", "白云区", 374, _pairs(
        ("白云大道北", "Baiyun Avenue North"), ("机场路", "Jichang Road"), ("广园中路", "Guangyuan Middle Road"),
        ("同和路", "Tonghe Road"), ("京溪路", "Jingxi Road"))),
    District("440112", "Huangpu", "黄埔区", 126, _pairs(
        ("黄埔东路", "Huangpu East Road"), ("开创大道", "Kaichuang Avenue"), ("科学大道", "Kexue Avenue"),
        ("大沙东路", "Dasha East Road"))),
    District("440113", "Panyu", "番禺区", 265, _pairs(
        ("光明北路", "Guangming North Road"), ("桥东路", "Qiaodong Road"), ("迎宾路", "Yingbin Road"),
        ("兴南大道", "Xingnan Avenue"), ("汉溪大道", "Hanxi Avenue"))),
    District("440114", "Huadu", "花都区", 164, _pairs(
        ("新华路", "Xinhua Road"), ("迎宾大道", "Yingbin Avenue"), ("公益路", "Gongyi Road"),
        ("凤凰北路", "Fenghuang North Road"))),
    District("440115", "Nansha", "南沙区", 85, _pairs(
        ("进港大道", "Jingang Avenue"), ("环市大道", "Huanshi Avenue"), ("凤凰大道", "Fenghuang Avenue"))),
    District("440117", "Conghua", "从化区", 72, _pairs(
        ("河滨北路", "Hebin North Road"), ("新城东路", "Xincheng East Road"), ("从城大道", "Congcheng Avenue"))),
    District("440118", "Zengcheng", "增城区", 147, _pairs(
        ("荔城大道", "Licheng Avenue"), ("增城大道", "Zengcheng Avenue"), ("府佑路", "Fuyou Road"))),
)  # fmt: skip

DISTRICT_BY_CODE: dict[str, District] = {district.code: district for district in DISTRICTS}


def join_pinyin(syllables: list[str]) -> str:
    """The syllables of one given name as one word, capitalised: "Xiao" + "an" -> "Xiao'an".

    Pinyin writes an apostrophe before a syllable that starts with a, o or e inside a word, so
    that "Xi'an" (two syllables) is not read "Xian" (one)."""
    word = ""
    for syllable in syllables:
        lower = syllable.lower()
        word += ("'" if word and lower[0] in "aoe" else "") + lower
    return word[:1].upper() + word[1:]
