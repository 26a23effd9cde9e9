"""The demo's world: products, staff, suppliers, carriers, places and names.

Plain data only, chosen to look like a mid-sized Chinese manufacturer and
exporter of electrical, industrial and household goods.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Product:
    """A catalogue item; the price is in CNY, the quantities a customer orders."""

    sku: str
    name: str
    model: str
    spec: str
    price: Decimal
    min_qty: int
    max_qty: int

    @property
    def family(self) -> str:
        """The product family: the SKU's first segment (``LGT-PL-6060`` is lighting)."""
        return self.sku.split("-", 1)[0]


# The families the SKUs start with; each has its own year (``demo.seasons``).
FAMILIES = {
    "MOT": "motion and control",
    "ELE": "electrical",
    "LGT": "lighting",
    "HWR": "hardware",
    "HOM": "household",
    "PKG": "packaging",
    "OFC": "office furniture",
    "CEL": "consumer electronics",
}


def _p(sku: str, name: str, model: str, spec: str, price: str, lo: int, hi: int) -> Product:
    return Product(sku, name, model, spec, Decimal(price), lo, hi)


PRODUCTS = (
    _p("MOT-BLDC-57", "直流无刷电机", "BLDC-57", "24V 200W 3000rpm", "486.00", 10, 300),
    _p("MOT-STEP-86", "两相步进电机", "86HS45", "4.5N·m 1.8°", "312.50", 10, 200),
    _p("MOT-DRV-556", "步进电机驱动器", "DM556", "20–50VDC 5.6A", "168.00", 10, 200),
    _p("MOT-PLC-M2", "可编程控制器", "M2-16MR", "16 点 继电器输出", "1280.00", 2, 50),
    _p("MOT-HMI-700", "触摸屏", "TP-700", "7 英寸 800×480", "935.00", 2, 50),
    _p("ELE-PSU-60", "开关电源", "LRS-60-12", "12V 5A 60W", "58.90", 50, 2000),
    _p("ELE-ADP-1220", "电源适配器", "AD-1220", "12V 2A 欧规插头", "16.80", 200, 5000),
    _p("LGT-PL-6060", "LED 面板灯", "PL-6060-40", "600×600mm 40W 4000K", "89.00", 50, 1000),
    _p("LGT-T8-1200", "LED 灯管", "T8-1200-18", "1.2m 18W 6500K", "12.60", 200, 5000),
    _p("LGT-FL-100", "LED 投光灯", "FL-100W", "100W IP66", "215.00", 10, 300),
    _p("ELE-CBL-325", "多芯软电缆", "RVV 3×2.5", "100m/卷", "398.00", 5, 200),
    _p("ELE-CON-M12", "M12 航空插头", "M12-4P", "4 芯 IP67", "7.35", 100, 5000),
    _p("MOT-SEN-PR08", "接近传感器", "PR08-2DN", "M8 NPN 常开 2mm", "28.50", 20, 1000),
    _p("MOT-SEN-E3F", "光电开关", "E3F-DS30C4", "M18 漫反射 30cm", "19.80", 20, 1000),
    _p("MOT-VAL-4V210", "电磁阀", "4V210-08", "DC24V 两位五通", "42.00", 20, 500),
    _p("MOT-CYL-63", "标准气缸", "SC63×100", "缸径 63mm 行程 100mm", "138.00", 10, 300),
    _p("HWR-BRG-6204", "深沟球轴承", "6204-2RS", "20×47×14mm", "6.20", 200, 10000),
    _p("HWR-ALU-4040", "铝合金型材", "4040 欧标", "6063-T5 2m/支", "54.00", 20, 1000),
    _p("HWR-FAS-M8", "不锈钢内六角螺栓", "DIN912 M8×25", "A2-70 100只/盒", "23.50", 20, 2000),
    _p("HOM-CUP-500", "不锈钢保温杯", "BW-500", "500ml 304 不锈钢", "38.50", 100, 5000),
    _p("HOM-KTL-1702", "电热水壶", "EK-1702", "1.7L 1800W", "69.00", 50, 2000),
    _p("HOM-FAN-40", "台式风扇", "DF-40", "16 英寸 三档", "96.00", 50, 1000),
    _p("PKG-BOX-K5", "五层瓦楞纸箱", "K=K 5 层", "600×400×400mm", "4.85", 500, 20000),
    _p("PKG-TAP-48", "封箱胶带", "BOPP-48", "48mm×100m", "3.20", 500, 20000),
    _p("PKG-PLT-1210", "塑料托盘", "川字 1210", "1200×1000mm 动载 1t", "165.00", 20, 500),
    _p("OFC-CHR-801", "人体工学办公椅", "OC-801", "网布 可调扶手", "420.00", 10, 300),
    _p("OFC-DSK-1470", "升降办公桌", "SD-1470", "1400×700mm 双电机", "1150.00", 5, 100),
    _p("CEL-EAR-X5", "蓝牙耳机", "TWS-X5", "蓝牙 5.3 主动降噪", "85.00", 100, 3000),
    _p("CEL-PWB-10K", "移动电源", "PB-10000", "10000mAh 22.5W", "59.00", 100, 3000),
    _p("CEL-CAM-4M", "网络摄像机", "IPC-4M-POE", "400 万像素 PoE", "268.00", 10, 500),
)

# Staff who act on orders; the actor is written as "王芳 (merchandiser)".
SALES = ("陈静", "赵磊", "林晓燕", "Lucía Pérez")
MERCHANDISERS = ("王芳", "李娜", "张伟", "刘洋", "黄敏")
WAREHOUSE = ("周强", "吴勇", "郑海燕")
FINANCE = ("徐丽", "孙涛")

WAREHOUSES = ("深圳成品一号仓", "东莞二号仓", "宁波保税仓")
SUPPLIERS = (
    "宁波恒力五金有限公司",
    "东莞市精诚塑胶制品厂",
    "常州市金瑞电机配件有限公司",
    "苏州日升电子元件有限公司",
    "温州市安达包装材料厂",
    "佛山市南海区宏图铝业有限公司",
)
PARTS = (
    ("PCB 主控板", "18.60"),
    ("铝合金外壳", "9.80"),
    ("彩盒包装", "1.35"),
    ("线束组件", "4.20"),
    ("轴承 6204", "3.10"),
    ("硅钢片定子", "22.00"),
    ("ABS 注塑件", "2.75"),
)
PRODUCTION_STEPS = (("备料", 10), ("下料加工", 35), ("组装", 65), ("老化测试", 85))

CARRIERS = {
    "road": ("德邦物流", "安能物流", "顺丰快运"),
    "express": ("顺丰速运", "京东物流", "中通快递"),
    "express_export": ("DHL Express", "FedEx", "顺丰国际"),
    "rail": ("中铁快运",),
    "air": ("国航货运", "南航物流"),
    "sea": ("中远海运 COSCO", "Maersk", "MSC 地中海航运"),
}
HUBS = ("广州白云转运中心", "上海青浦分拨中心", "武汉东西湖转运中心", "郑州航空港分拨中心")
PORTS = ("上海洋山港", "深圳盐田港", "宁波舟山港", "新加坡港", "鹿特丹港", "Port of Santos")

# (surname, pinyin); (given name, pinyin): Chinese people and their e-mail handles.
SURNAMES = (
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"),
    ("杨", "yang"), ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"),
    ("徐", "xu"), ("孙", "sun"), ("马", "ma"), ("朱", "zhu"), ("胡", "hu"),
    ("郭", "guo"), ("何", "he"), ("林", "lin"), ("罗", "luo"), ("梁", "liang"),
)  # fmt: skip
GIVEN = (
    ("伟", "wei"), ("芳", "fang"), ("秀英", "xiuying"), ("敏", "min"), ("静", "jing"),
    ("强", "qiang"), ("磊", "lei"), ("洋", "yang"), ("艳", "yan"), ("杰", "jie"),
    ("建华", "jianhua"), ("志强", "zhiqiang"), ("晓燕", "xiaoyan"), ("海燕", "haiyan"),
    ("子涵", "zihan"), ("浩然", "haoran"), ("欣怡", "xinyi"), ("俊杰", "junjie"),
)  # fmt: skip

# (province, city, districts, landline area code)
CN_CITIES = (
    ("广东省", "深圳", ("南山区", "宝安区", "龙华区", "福田区"), "0755"),
    ("广东省", "广州", ("天河区", "番禺区", "白云区"), "020"),
    ("广东省", "东莞", ("长安镇", "松山湖", "虎门镇"), "0769"),
    ("广东省", "佛山", ("顺德区", "南海区"), "0757"),
    ("浙江省", "宁波", ("鄞州区", "北仑区", "慈溪市"), "0574"),
    ("浙江省", "杭州", ("滨江区", "余杭区", "萧山区"), "0571"),
    ("江苏省", "苏州", ("工业园区", "吴中区", "昆山市"), "0512"),
    ("上海市", "上海", ("浦东新区", "闵行区", "嘉定区"), "021"),
    ("北京市", "北京", ("朝阳区", "海淀区", "大兴区"), "010"),
    ("四川省", "成都", ("高新区", "武侯区", "双流区"), "028"),
    ("湖北省", "武汉", ("东湖高新区", "江夏区"), "027"),
    ("山东省", "青岛", ("黄岛区", "城阳区"), "0532"),
    ("福建省", "厦门", ("湖里区", "集美区"), "0592"),
    ("天津市", "天津", ("滨海新区", "西青区"), "022"),
)
CN_ROADS = (
    "科技园南路", "工业大道", "创业路", "人民路", "建设路", "长江路", "滨海大道",
    "黄河路", "中山路", "高新大道", "兴业路", "环城北路",
)  # fmt: skip
# (Chinese trade name, romanised, for the e-mail domain)
CN_TRADE_NAMES = (
    ("鑫源", "xinyuan"), ("恒泰", "hengtai"), ("佳美", "jiamei"), ("利华", "lihua"),
    ("顺达", "shunda"), ("正阳", "zhengyang"), ("华美", "huamei"), ("远航", "yuanhang"),
    ("海纳", "haina"), ("瑞丰", "ruifeng"), ("博远", "boyuan"), ("嘉和", "jiahe"),
    ("锦程", "jincheng"), ("天成", "tiancheng"), ("联创", "lianchuang"), ("金辉", "jinhui"),
)  # fmt: skip
CN_INDUSTRIES = (
    "电子科技有限公司", "五金制品有限公司", "机电设备有限公司", "贸易有限公司",
    "照明电器有限公司", "家居用品有限公司", "自动化设备有限公司", "精密机械有限公司",
)  # fmt: skip


@dataclass(frozen=True)
class Country:
    """Where a foreign customer is: how its addresses, phones and firms look."""

    name: str
    cities: tuple[tuple[str, str], ...]  # (street address, "postcode city")
    phone_prefix: str
    tld: str
    suffix: str
    currency: str


COUNTRIES = (
    Country("Brasil", (("Av. Paulista 1578", "01310-200 São Paulo"),
                       ("Rua XV de Novembro 300", "80020-310 Curitiba")),
            "+55 11", "com.br", "Ltda.", "USD"),
    Country("España", (("Calle de Alcalá 45", "28014 Madrid"),
                       ("Carrer de Balmes 120", "08008 Barcelona")),
            "+34 91", "es", "S.L.", "EUR"),
    Country("México", (("Av. Constitución 2050", "64000 Monterrey"),
                       ("Calz. Ignacio Zaragoza 1200", "09100 Ciudad de México")),
            "+52 81", "com.mx", "S.A. de C.V.", "USD"),
    Country("Italia", (("Via Roma 12", "20121 Milano"),
                       ("Corso Vittorio Emanuele 8", "10121 Torino")),
            "+39 02", "it", "S.r.l.", "EUR"),
    Country("Chile", (("Av. Providencia 1208", "7500000 Santiago"),),
            "+56 2", "cl", "SpA", "USD"),
    Country("Portugal", (("Rua de Santa Catarina 210", "4000-442 Porto"),),
            "+351 22", "pt", "Lda.", "EUR"),
    Country("France", (("12 rue de la République", "69002 Lyon"),
                       ("45 boulevard Haussmann", "75009 Paris")),
            "+33 4", "fr", "SARL", "EUR"),
    Country("Colombia", (("Carrera 7 # 71-21", "110231 Bogotá"),),
            "+57 1", "com.co", "S.A.S.", "USD"),
    Country("Deutschland", (("Mönckebergstraße 7", "20095 Hamburg"),),
            "+49 40", "de", "GmbH", "EUR"),
)  # fmt: skip
LATIN_FIRST = (
    "María", "José", "Lucía", "João", "Ana", "Carlos", "Sofía", "Luca", "Giulia",
    "Pierre", "Camille", "Mateo", "Valentina", "Diego", "Isabel", "Miguel", "Fernanda",
)  # fmt: skip
LATIN_LAST = (
    "García", "Rodríguez", "Silva", "Santos", "Rossi", "Bianchi", "Martin", "Dubois",
    "Fernández", "López", "Pereira", "Costa", "Romano", "Moreau", "Müller", "Ortega",
)  # fmt: skip
LATIN_FIRMS = (
    "Distribuidora Andina", "Comercial Iberia", "Tecnoluce", "Casa Verde", "Maison Lumière",
    "Soluciones Industriales del Norte", "Elettrica Padana", "Ferragens Atlântico",
    "Importadora del Pacífico", "Automação Sul", "Hanse Elektro", "Luz y Fuerza",
)  # fmt: skip
# The price list is in CNY; foreign customers are quoted at these fixed rates.
RATES = {"CNY": Decimal(1), "USD": Decimal("7.10"), "EUR": Decimal("7.75")}
