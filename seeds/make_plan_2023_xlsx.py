# ruff: noqa: E501, W291  (TABLE is the notice text verbatim: long printed rows, blank trailing cells)
"""Build `seeds/plan_2023.xlsx`: 附件4 of 通政办发〔2023〕11号 as the notice prints it, with 「单位」 and 「计划信息」.

Run from the project root: `python seeds/make_plan_2023_xlsx.py [OUT]` (default `seeds/plan_2023.xlsx`).

`TABLE` is the notice's text of 附件4 (`../shared/source/notice-2023-11.txt`, from the title line), one printed
row per line, cells separated by tabs, copied verbatim: quarter rows and the header row repeated after each page
break stay where the notice prints them. The PDF text loses what the printed table shows by layout; it is
restored here, and nothing else is changed:
1. Cells holding several lines. `LINE_BREAKS` gives, per 序号 and column, the printed lines of a cell; each is
   checked to be the verbatim text with only white space changed (序号 38 内容 and 48 地点 were run together).
   地点 with one place per session (序号 25, 31, 32, 48) is one line per place: the reader makes one session per
   line of 地点, while places on ONE line (「日韩 欧美」, 序号 16 and 27: one trip to both) stay one session.
2. Session labels. `LABELS` gives, per 序号, the label of each dated part where the notice names the sessions
   only in 内容: 序号 31 is one 推介会 in 上海 with 复旦大学微电子学院 and one in 南京 with 江苏科技大学海工船舶
   服务平台, both 「2023年7-9月」; 日期 is written 「上海·复旦大学微电子学院：2023年7-9月」, one line per session.
3. Merged 活动类型 cells: a blank 活动类型 below a value is one merged cell with it, up to the next value, quarter
   row or repeated header, and is written as an Excel merge.
`UNITS` is the organization directory the plan's names refer to (附件1 of the notice gives the member units and
their duties); `INFO` is the notice's own metadata (number, date, title) and the series key of the 每两月 rows.
Nothing here is read from `events_2023.json` or written by the service's exporter.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

TABLE = """\
2023 年科技招商活动安排表
序号	地点	名称	内容	日期	主办单位	承办（配合）单位	活动类型
第一季度							
1	南通	东部中心 南通重点产业链科技成果对接洽谈会	2023 年东部中心与南通重点产业链科技成果对接活动	2023 年 2-3 月	市科技局	国家技术转移东部中心南通分中心	季度主题活动（科技成果）
2	南通	高校院所 南通重点产业链产学研、科技成果对接洽谈会	华东理工大学（高端装备） 大连理工大学（生物医药）	2023 年 2 月 2023 年 3 月	市科技局	相关高校技术转移中心	市级统筹活动
3	南通	江海创投行 科创基金园区行	聚焦人才、资金进行项目路演	每两月	市金融局 市科创投资集团	—	市级服务活动
4	无锡	如皋—江南大学校企对接活动	围绕生命健康产业链企业技术需求和科技成果转化开展校企对接	2023 年 3 月	如皋市	—	板块招商活动
5	天津	如东（天津）海上风电科创项目对接会	重点与交通运输部天津水运工程科学研究院开展项目对接	2023 年 3 月	如东县	—	
6	上海	科技招商推介会	在上海推介启东科创环境	2023 年 3 月	启东市	—	
7	上海	崇川（上海）战略性新兴产业发展大会	展示崇川营商环境、投资价值潜力等情况，集中签约一批项目	2023 年 2 月	崇川区	—	
8	上海	通州—上海科技招商推介会	在上海推介通州科技招商环境，对接并签约科创项目	2023 年 1-3 月	通州区	—	
9	海门	江苏省船舶与海洋工程装备技术创新中心项目推介会	推介江苏省船舶与海洋工程装备技术创新中心技术成果	2023 年 1-3 月	南通市科技局	海门区科技局	
序号	地点	名称	内容	日期	主办单位	承办（配合）单位	活动类型
10	开发区	科创项目南通对接会	邀请市外意向单位考察南通开发区科技招商环境，组织集中推介	2023年1-2月	南通开发区	—	板块招商活动
11	上海	南通创新区—上海科技招商推介会	在上海推介南通创新区科技招商环境	2023年3月	南通创新区	通创投	
12	南通	杰出科技企业家走进创新区暨2023年亚杰商会春季峰会	将杰出企业家“请进来”，推介科技招商环境	2023年3月	南通创新区	通创投	
第二季度							
13	上海	沿江科创带（上海）投资合作恳谈会	1.推介南通科技招商环境（重点推介沿江科创带） 2.重大科创项目签约，上海高校院所、研发机构对接洽谈	2023年5月	市科技局	各县（市、区）、沿江科创带园区	季度主题活动（科创项目）
14	南通	高校院所南通重点产业链科技成果对接洽谈会	上海应用技术大学（新材料） 东南大学（船舶海工、生物医药） 武汉理工大学（船舶海工、高端装备）	2023年4月 2023年5月 2023年6月	市科技局	相关高校技术转移中心	市级统筹活动
15	武汉	南通-武汉地区高校科技成果对接洽谈会	组织各县（市、区）科技招商人员和企业人员，赴武汉地区与区域内高校及中科院研究所开展科技招商、科技成果对接和产学研合作对接	2023年5月	市科技局	各县（市、区）	
16	日韩 欧美	境外科技招商活动	赴日韩、欧美等发达国家，开展科技招商对接	二季度	市科技局	—	
序号	地点	名称	内容	日期	主办单位	承办（配合）单位	活动类型
17	南通	江海创投行 科创基金园区行	聚焦人才、资金进行项目路演	每两月	市金融局 市科创投资集团	—	市级服务活动
18	海安	第十届创新创业在海安主题活动	邀请国内高校院所及科研机构专家教授与海安企业对接洽谈平台载体合作等	2023年5月	海安市	—	板块招商活动
19	深圳	如东（深圳）新一代信息技术及高层次人才对接专场活动	邀请深圳地区新一代信息技术及智能通讯产业知名企业50余家，依托深圳中介机构邀请一批高层次人才，举办科技招商及高层次人才对接专场活动	2023年5月	如东县	—	
20	南京	科技招商推介会	与南京的高校院所及科研机构进行合作洽谈	2023年6月	启东市	—	
21	上海	上海—崇川科创产业资源对接会	结合崇川主导产业和在沪高校、院所、大企业资源，举办科创资源对接会，重点推介崇川科创人才招商环境	2023年5月	崇川区	—	
22	合肥	通州—合肥校企合作对接会	赴合肥及周边地区高校科研院所对接合作	2023年5月	通州区	—	
23	武汉	科创项目专题招商推介会	对接武汉大学、华中科技大学等知名高校，招引成长性科创企业，推进一批重点在谈项目	2023年5月	海门区	—	
24	上海	沪通科技招商推介恳谈会	赴上海推介通州湾示范区科技招商环境	2023年6月	通州湾示范区	—	
序号	地点	名称	内容	日期	主办单位	承办（配合）单位	活动类型
第三季度							
25	北京 深圳 西安	科技招商小型推介会	面向先进地区大院大所、载体运营商推介南通科技招商环境，推进重点在谈项目	三季度	市科技局	各县（市、区）	季度主题活动 （平台载体）
26	南通	高校院所南通重点产业链产学研、科技成果对接洽谈会	上海交通大学（新一代信息技术、船舶海工） 同济大学（新一代信息技术） 上海理工大学（新能源）	2023年7月 2023年8月 2023年9月	市科技局	相关高校技术转移中心	市级统筹活动
27	德国 沙特	境外科技招商活动	赴德国、沙特等有合作基础的国家，开展教育与科技方面的对接	三季度	市科技局	—	
28	南通	江海创投行 科创基金园区行	聚焦人才、资金进行项目路演	每两月	市金融局 市科创投资集团	—	市级服务活动
29	南京	如皋—高校院所产学研、科技成果对接洽谈会	与南京的高校院所及科研机构围绕重点产业链企业需求进行合作洽谈	2023年7月	如皋市	—	板块招商活动
30	上海	如东（上海）电子化学品、纤维新材料产业推介会	围绕电子化学品和半导体产业与上海、苏南企业对接	三季度	如东县	—	
31	上海 南京	科创项目专题推介会	与复旦大学微电子学院合作对接与江苏科技大学海工船舶服务平台合作对接	2023年7-9月	启东市	—	
32	西安 深圳	西安科创产业招商周 深圳科创产业推介会	拜访西安交通大学等高校科研院所，对接重点领军企业 推介崇川科技招商环境（重点推介沿江科创带—市北高新区）	2023年9月 2023年7-9月	崇川区	—	
33	杭州	通州—杭州科技招商 恳谈会	赴杭州开展科技招商推介，招引科创项目	2023年7-9月	通州区	—	
序号	地点	名称	内容	日期	主办单位	承办（配合）单位	活动类型
34	深圳	科创项目专题招商推介会	围绕新一代信息技术、智能制造等优势产业，招引科创企业，推进一批重点在谈项目，开展高层次产业合作	2023年9月	海门区	—	板块招商活动
35	华南	粤港澳地区招商推介恳谈会	科创项目招引、政策推介	2023年9月	通州湾示范区	—	
36	北京	南通创新区—北京新一代信息技术专题产业交流会	向北京高校院所、产业链龙头企业推介南通创新区创新环境、投资环境，开展合作对接	2023年6-7月	南通创新区	—	
第四季度							
37	南通	江海英才创业周	1.推介南通人才创新创业环境 2.重点项目签约、洽谈等	2023年10-11月	市人才办	各有关部门、各板块	季度主题活动（科技人才）
38	南通	高校院所南通重点产业链产学研、科技成果对接洽谈会	西安交通大学（新一代信息技术）东部中心（高端装备）	2023年10月 2023年11月	市科技局	相关高校技术转移中心	市级统筹活动
39	西安	西安交通大学南通生物医药科技成果对接洽谈会	组织县（市、区）科技招商人员和企业人员，赴西安交通大学开展生物医药科技成果对接和产学研合作对接。	2023年10月	市科技局	各县（市、区）	
40	南通	江海创投行 科创基金园区行	聚焦人才、资金进行项目路演	每两月	市金融局 市科创投资集团	—	市级服务活动
序号	地点	名称	内容	日期	主办单位	承办（配合）单位	活动类型
41	海安	两院专家走进海安主题活动	邀请两院系统专家教授到海安对接洽谈，形成一批合作意向	2023年12月	海安市	—	板块招商活动
42	如皋	科技人才洽谈会	推介如皋创新创业环境，吸引科技人才落户	2023年10月	如皋市	—	
43	如东	中国如东科技人才节	推介如东创新创业环境，吸引科技人才落户	2023年11月	如东县	—	
44	启东	科技人才节暨投资洽谈会	推介启东创新创业环境，招引科创项目和高端人才落户	2023年11月	启东市	—	
45	崇川	智汇崇川创新创业峰会	推介崇川创新创业环境，吸引科技人才落户	2023年11月	崇川区	—	
46	通州	通州区高端产业与高层次人才项目合作洽谈会	通州发展环境推介，人才科创项目对接洽谈等	2023年11月	通州区	—	
47	苏锡通园区	金融惠企“下午茶”	构建科技金融与创新创业人才团队的沟通桥梁	2023年全年	苏锡通园区	—	
48	北京深圳	南通创新区—北京促进会 南通创新区—深圳推介会	推介南通创新区科技招商环境	2023年10-11月	南通创新区	—	
"""
COLUMNS = ("序号", "地点", "名称", "内容", "日期", "主办单位", "承办（配合）单位", "活动类型")
LINE_BREAKS = {
    (2, "内容"): "华东理工大学（高端装备）\n大连理工大学（生物医药）",
    (14, "内容"): "上海应用技术大学（新材料）\n东南大学（船舶海工、生物医药）\n武汉理工大学（船舶海工、高端装备）",
    (26, "内容"): "上海交通大学（新一代信息技术、船舶海工）\n同济大学（新一代信息技术）\n上海理工大学（新能源）",
    (25, "地点"): "北京\n深圳\n西安",
    (31, "地点"): "上海\n南京",
    (32, "地点"): "西安\n深圳",
    (32, "名称"): "西安科创产业招商周\n深圳科创产业推介会",
    (38, "内容"): "西安交通大学（新一代信息技术）\n东部中心（高端装备）",
    (48, "地点"): "北京\n深圳",
    (48, "名称"): "南通创新区—北京促进会\n南通创新区—深圳推介会",
}
LABELS = {  # 序号 → the label of each dated part, in order (each part keeps the printed 日期)
    31: ("上海·复旦大学微电子学院", "南京·江苏科技大学海工船舶服务平台"),
}
INFO = (
    ("计划编号", "nantong-2023", ""),
    ("年度", "2023", ""),
    ("标题", "2023年科技招商活动安排表", ""),
    ("来源", "南通市人民政府办公室 通政办发〔2023〕11号《关于加快推进全市科技招商工作的实施意见》附件4", ""),
    ("发布日期", "2023-01-22", ""),
    ("时区", "Asia/Shanghai", ""),
    ("系列", "jianghai-chuangtouxing", "江海创投行 科创基金园区行"),
)
BANKUAI_DUTY = "负责科技招商工作的具体实施。"  # 附件1 item 13: 各县（市、区）和省级以上高新区、经开区
OFFICE_DUTY = (  # 附件1 一: the office paragraph (the person's name left out)
    "推进领导小组办公室设在市科技局。办公室负责科技招商工作的组织推进，定期汇总通报各县（市、区）科技招商工作进展情况，"
    "组织实施科创项目考核，组建由相关市级部门业务负责人、县（市、区）与园区科技部门负责人、产业链链主企业技术人员、"
    "市区相关园区科技招商人员组成的市级科技招商工作专班，完成推进领导小组交办的各项工作。"
)
DUTIES = """\
1. 市委组织部。负责建立“双招双引”联动机制，指导板块、园区导入高层次人才项目。
2. 市发展和改革委员会。负责产业升级需求与科技招商的对接。
3. 市教育局。负责指导板块、园区与有关高校的合作对接。
4. 市工业和信息化局。牵头重点产业链、创新链“双链融合”，负责指导各板块明确重点产业链发展方向。
5. 市财政局。负责统筹保障市级科技招商工作经费。
6. 市人力资源和社会保障局。负责指导板块、园区导入高层次专业技术人才。
7. 市自然资源和规划局。负责指导板块、园区保障符合条件的科技型企业用地需求和配套用地需求。
8. 市商务局。负责将科技招商列入全年招商工作计划，指导板块、园区积极对接高校、科研院所、科技服务机构，并将其纳入各类招商、推介活动目标对象。
9. 市行政审批局。负责指导板块、园区优化科技型企业涉及市场准入、投资管理等方面的行政审批流程。
10. 市市场监督管理局。负责统筹协调科技型企业的知识产权创造、运用、评估和保护。
11. 市科创投资集团。负责国内外知名创投机构的引进、合作，负责科技招商项目的基金资源供给。
12. 市人才发展集团。负责绘制全球科技人才地图，引进高层次产业人才项目，优化人才公共服务。
"""
DISTRICTS = "海安市、如皋市、如东县、启东市、崇川区、通州区、海门区"
PARKS = "南通开发区、苏锡通园区、通州湾示范区、南通创新区"
DEPARTMENTS = (
    "市委组织部、市发展和改革委员会、市教育局、市工业和信息化局、市财政局、市人力资源和社会保障局、"
    "市自然资源和规划局、市商务局、市行政审批局、市市场监督管理局、市金融局、市人才办、市科技局"
)
# 编号, 名称, 简称, 别名, 类别, 成员, 上级
UNITS = (
    ("kjj", "南通市科学技术局", "市科技局", "南通市科技局、市科学技术局、科技局", "市级部门", "", ""),
    ("jrj", "南通市地方金融监督管理局", "市金融局", "南通市金融局", "市级部门", "", ""),
    ("rcb", "中共南通市委人才工作领导小组办公室", "市人才办", "南通市人才办", "市级部门", "", ""),
    ("zzb", "中共南通市委组织部", "市委组织部", "南通市委组织部", "市级部门", "", ""),
    ("fgw", "南通市发展和改革委员会", "市发展和改革委员会", "市发改委、南通市发改委", "市级部门", "", ""),
    ("jyj", "南通市教育局", "市教育局", "", "市级部门", "", ""),
    ("gxj", "南通市工业和信息化局", "市工业和信息化局", "市工信局、南通市工信局", "市级部门", "", ""),
    ("czj", "南通市财政局", "市财政局", "", "市级部门", "", ""),
    ("rsj", "南通市人力资源和社会保障局", "市人力资源和社会保障局", "市人社局、南通市人社局", "市级部门", "", ""),
    ("zrzyj", "南通市自然资源和规划局", "市自然资源和规划局", "市自然资源局", "市级部门", "", ""),
    ("swj", "南通市商务局", "市商务局", "", "市级部门", "", ""),
    ("xzspj", "南通市行政审批局", "市行政审批局", "", "市级部门", "", ""),
    ("scjgj", "南通市市场监督管理局", "市市场监督管理局", "市市场监管局", "市级部门", "", ""),
    ("kctz", "南通市科创投资集团有限公司", "市科创投资集团", "科创投资集团、南通科创投资集团", "平台", "", ""),
    ("rcfz", "南通市人才发展集团有限公司", "市人才发展集团", "人才发展集团", "平台", "", ""),
    ("tct", "通创投", "通创投", "", "平台", "", ""),
    ("dbzx", "国家技术转移东部中心南通分中心", "东部中心", "国家技术转移东部中心南通分中心、东部中心南通分中心", "平台", "", ""),
    ("haian", "海安市", "海安市", "海安", "县（市、区）", "", ""),
    ("rugao", "如皋市", "如皋市", "如皋", "县（市、区）", "", ""),
    ("rudong", "如东县", "如东县", "如东", "县（市、区）", "", ""),
    ("qidong", "启东市", "启东市", "启东", "县（市、区）", "", ""),
    ("chongchuan", "崇川区", "崇川区", "崇川", "县（市、区）", "", ""),
    ("tongzhou", "通州区", "通州区", "通州", "县（市、区）", "", ""),
    ("haimen", "海门区", "海门区", "海门", "县（市、区）", "", ""),
    ("kfq", "南通经济技术开发区", "南通开发区", "开发区、南通经开区", "园区", "", ""),
    ("sxt", "江苏南通苏锡通科技产业园区", "苏锡通园区", "苏锡通科技产业园区", "园区", "", ""),
    ("tzw", "江苏省通州湾江海联动开发示范区", "通州湾示范区", "通州湾", "园区", "", ""),
    ("cxq", "南通创新区", "南通创新区", "创新区", "园区", "", ""),
    ("haimen-kjj", "海门区科学技术局", "海门区科技局", "海门科技局", "其他", "", "海门区"),
    ("all-districts", "各县（市、区）", "各县（市、区）", "县（市、区）", "群组", DISTRICTS, ""),
    ("all-bankuai", "各板块", "各板块", "板块", "群组", f"{DISTRICTS}、{PARKS}", ""),
    ("all-departments", "各有关部门", "各有关部门", "有关部门", "群组", DEPARTMENTS, ""),
    ("univ-tt-centers", "相关高校技术转移中心", "相关高校技术转移中心", "高校技术转移中心", "群组", "", ""),
    ("yanjiang-parks", "沿江科创带园区", "沿江科创带园区", "", "群组", "", ""),
)


def table_rows() -> tuple[str, list[list[str]]]:
    """Return the title and the printed rows of 附件4, multi-line cells restored (checked to be the same text),
    labelled dated parts written."""
    title, *printed = TABLE.splitlines()
    rows = []
    for line in printed:
        cells = (line.split("\t") + [""] * len(COLUMNS))[: len(COLUMNS)]
        if cells[0].isdigit():
            for (seq, column), text in LINE_BREAKS.items():
                if int(cells[0]) == seq:
                    i = COLUMNS.index(column)
                    assert re.sub(r"\s", "", text) == re.sub(r"\s", "", cells[i]), (seq, column)
                    cells[i] = text
            if int(cells[0]) in LABELS:
                i = COLUMNS.index("日期")
                cells[i] = "\n".join(f"{label}：{cells[i]}" for label in LABELS[int(cells[0])])
        rows.append(cells)
    return title, rows


def duty(short_name: str, kind: str) -> str:
    """Return a unit's duty as 附件1 states it (empty when 附件1 names none)."""
    if short_name == "市科技局":
        return OFFICE_DUTY
    if kind in ("县（市、区）", "园区"):
        return BANKUAI_DUTY
    for line in DUTIES.splitlines():
        name, _, text = line.split(" ", 1)[1].partition("。")
        if name == short_name:
            return text
    return ""


def build(out: Path) -> None:
    """Write the workbook: 附件4 (merged 活动类型 runs, title row, quarter rows), 单位 and 计划信息."""
    title, rows = table_rows()
    book = Workbook()
    sheet = book.active
    sheet.title = "附件4"
    sheet.append([title])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(COLUMNS))
    sheet["A1"].font = Font(bold=True, size=14)
    run_start = None  # the row holding the 活动类型 value a run of blank cells below belongs to
    for cells in rows:
        sheet.append([int(cells[0]) if cells[0].isdigit() else cells[0], *cells[1:]])
        r = sheet.max_row
        if not cells[0].isdigit():  # header or quarter row: a merged type cell never crosses it
            run_start = None
            if cells[0].startswith("第"):
                sheet.merge_cells(start_row=r, start_column=1, end_row=r, end_column=len(COLUMNS))
            continue
        if cells[7]:
            run_start = r
        elif run_start is not None:
            sheet.unmerge_cells(start_row=run_start, start_column=8, end_row=r - 1, end_column=8) if r - 1 > run_start else None
            sheet.merge_cells(start_row=run_start, start_column=8, end_row=r, end_column=8)
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="center")
    for letter, width in zip("ABCDEFGH", (6, 10, 30, 40, 16, 16, 20, 16), strict=True):
        sheet.column_dimensions[letter].width = width
    units = book.create_sheet("单位")
    units.append(["编号", "名称", "简称", "别名", "类别", "成员", "上级", "职责"])
    for unit in UNITS:
        units.append([*unit, duty(unit[2], unit[4])])
    info = book.create_sheet("计划信息")
    info.append(["项目", "值", "适用活动"])
    for item in INFO:
        info.append(list(item))
    book.save(out)


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("plan_2023.xlsx")
    build(target)
    print(f"已生成 {target}")
