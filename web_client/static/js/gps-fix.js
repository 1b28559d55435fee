// A GPS fix of the phone, as the API takes it (`{latitude, longitude, accuracy, captured_at}`,
// the time the phone took it), with the reason in Chinese when there is none.

const GEO_ERRORS = {
  1: "未获得定位权限，请在浏览器设置中允许本网站使用位置信息后重试",
  2: "无法获取当前位置，请到开阔处后重试",
  3: "定位超时，请到开阔处后重试",
};

/** A fresh, high-accuracy fix (never a cached one). */
export function locate() {
  return new Promise((resolve, reject) => {
    if (!navigator.geolocation) {
      reject(new Error("此浏览器不支持定位，请使用手机浏览器打开"));
      return;
    }
    navigator.geolocation.getCurrentPosition(
      (p) =>
        resolve({
          latitude: p.coords.latitude,
          longitude: p.coords.longitude,
          accuracy: p.coords.accuracy,
          captured_at: new Date(p.timestamp).toISOString(),
        }),
      (err) => reject(new Error(GEO_ERRORS[err.code] || "无法获取定位")),
      { enableHighAccuracy: true, maximumAge: 0, timeout: 20000 },
    );
  });
}
