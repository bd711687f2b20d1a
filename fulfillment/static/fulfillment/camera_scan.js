// Scanning the pickup QR with a phone's or tablet's camera, where the browser has BarcodeDetector
// (Chrome on Android, Edge, Safari 17+). A USB scanner and typing always work without it.
(function () {
  "use strict";
  var button = document.getElementById("camera-button");
  var video = document.getElementById("camera");
  var input = document.getElementById("code");
  var message = document.getElementById("camera-message");
  if (!button || !("BarcodeDetector" in window) || !navigator.mediaDevices) return;
  button.hidden = false;
  var stream = null;

  function stop() {
    if (stream) stream.getTracks().forEach(function (track) { track.stop(); });
    stream = null;
    video.hidden = true;
    button.textContent = "Scan with the camera";
  }

  button.addEventListener("click", function () {
    if (stream) { stop(); return; }
    var detector = new window.BarcodeDetector({formats: ["qr_code"]});
    navigator.mediaDevices.getUserMedia({video: {facingMode: "environment"}}).then(function (s) {
      stream = s;
      video.srcObject = s;
      video.hidden = false;
      button.textContent = "Stop the camera";
      message.textContent = "Hold the QR code in front of the camera.";
      return video.play().then(function look() {
        if (!stream) return;
        detector.detect(video).then(function (codes) {
          if (codes.length) {
            input.value = codes[0].rawValue;
            stop();
            message.textContent = "Read. Finding the order…";
            document.getElementById("find-form").requestSubmit();
          } else {
            window.requestAnimationFrame(look);
          }
        }).catch(function () { window.requestAnimationFrame(look); });
      });
    }).catch(function () {
      message.textContent = "The camera could not be opened; scan with the USB scanner or type the code.";
      stop();
    });
  });
}());
