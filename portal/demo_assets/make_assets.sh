#!/bin/sh
# Regenerates the demo media in this folder (needs ImageMagick 6, ffmpeg with
# libx264 + libfreetype, the DejaVu fonts and python3). Run from this folder.
set -e
F=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
FB=/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf

# Homepage mockup: 1200x800 palette PNG of a website design.
convert -size 1200x800 gradient:'#eef2ff'-'#dbe4ff' \
 -fill '#1f2a44' -draw "roundrectangle 80,60 1120,760 18,18" \
 -fill '#ffffff' -draw "roundrectangle 80,60 1120,740 18,18" \
 -fill '#f1f3f8' -draw "roundrectangle 80,60 1120,104 18,18" -draw "rectangle 80,90 1120,104" \
 -fill '#ff5f57' -draw "circle 110,82 116,82" -fill '#febc2e' -draw "circle 132,82 138,82" -fill '#28c840' -draw "circle 154,82 160,82" \
 -fill '#ffffff' -draw "roundrectangle 300,72 900,94 10,10" \
 -font $F -pointsize 13 -fill '#7a8499' -annotate +318+88 'northwind.example' \
 -fill '#2952cc' -draw "roundrectangle 120,130 160,170 8,8" \
 -font $FB -pointsize 22 -fill '#1f2a44' -annotate +172+158 'Northwind' \
 -font $F -pointsize 16 -fill '#4a5570' -annotate +640+157 'Products' -annotate +740+157 'Stories' -annotate +832+157 'About' \
 -fill '#2952cc' -draw "roundrectangle 920,134 1080,168 17,17" -font $FB -pointsize 15 -fill white -annotate +950+157 'Get in touch' \
 \( -size 960x300 gradient:'#2952cc'-'#7b4fd6' \
    -fill 'rgba(255,255,255,0.14)' -draw "circle 830,110 940,110" -draw "circle 900,250 960,250" \) \
 -geometry +120+200 -composite \
 -font $FB -pointsize 46 -fill white -annotate +160+300 'Trade that travels well.' \
 -font $F -pointsize 20 -fill '#e3e9ff' -annotate +162+345 'Fresh goods from fair partners, delivered across the world.' \
 -fill white -draw "roundrectangle 160,390 360,440 25,25" -font $FB -pointsize 17 -fill '#2952cc' -annotate +192+421 'Shop the range' \
 -stroke white -strokewidth 2 -fill none -draw "roundrectangle 380,390 560,440 25,25" -stroke none -fill white -annotate +428+421 'Our story' \
 -fill '#f6f8fc' -draw "roundrectangle 120,530 420,720 14,14" -draw "roundrectangle 450,530 750,720 14,14" -draw "roundrectangle 780,530 1080,720 14,14" \
 -fill '#ffd166' -draw "roundrectangle 140,550 400,620 10,10" -fill '#06d6a0' -draw "roundrectangle 470,550 730,620 10,10" -fill '#ef476f' -draw "roundrectangle 800,550 1060,620 10,10" \
 -font $FB -pointsize 18 -fill '#1f2a44' -annotate +140+655 'Coffee & tea' -annotate +470+655 'Spices' -annotate +800+655 'Preserves' \
 -fill '#c9d0e0' -draw "roundrectangle 140,672 380,682 5,5" -draw "roundrectangle 140,692 320,702 5,5" -draw "roundrectangle 470,672 710,682 5,5" -draw "roundrectangle 470,692 650,702 5,5" -draw "roundrectangle 800,672 1040,682 5,5" -draw "roundrectangle 800,692 980,702 5,5" \
 -font $F -pointsize 13 -fill '#7a8499' -annotate +90+785 'Homepage mockup - v1 - Brightline Studio' \
 -depth 8 +dither -colors 255 -strip -define png:compression-level=9 PNG8:homepage-mockup.png

# Workspace logo (256x64, transparent) and the two campaign key visuals (800x1000).
convert -size 256x64 xc:none \
 -fill '#2952cc' -draw "roundrectangle 4,8 52,56 12,12" \
 -fill white -draw "polygon 18,44 30,16 34,16 26,36 38,36 26,50 28,40" \
 -font $FB -pointsize 27 -fill '#1f2a44' -annotate +62+42 'Brightline' \
 -depth 8 -strip -define png:compression-level=9 logo.png
key_visual() { # $1 file, $2 background, $3 headline, $4 subline, $5 version label
convert -size 800x1000 gradient:"$2" \
 -fill 'rgba(255,255,255,0.18)' -draw "circle 620,220 800,220" -draw "circle 160,820 260,820" \
 -fill '#ffd166' -draw "circle 400,420 400,280" \
 -fill '#06d6a0' -draw "ellipse 330,560 90,40 0,360" -draw "ellipse 470,560 90,40 0,360" \
 -fill '#1f2a44' -draw "rectangle 396,440 404,600" \
 -font $FB -pointsize 64 -fill white -gravity north -annotate +0+660 "$3" \
 -font $F -pointsize 26 -fill white -annotate +0+750 "$4" \
 -fill white -draw "roundrectangle 290,830 510,890 30,30" -font $FB -pointsize 22 -fill '#1f2a44' -annotate +0+847 'Shop now' \
 -gravity southeast -font $F -pointsize 14 -fill 'rgba(255,255,255,0.8)' -annotate +16+12 "$5" \
 -depth 8 +dither -colors 255 -strip -define png:compression-level=9 PNG8:"$1"
}
key_visual key-visual-v1.png '#ef476f-#7b4fd6' 'Spring into flavour' 'Northwind seasonal range' 'Key visual v1 - Brightline Studio'
key_visual key-visual-v2.png '#2952cc-#06d6a0' 'Spring into flavour' 'New season, new favourites - from 1 April' 'Key visual v2 - Brightline Studio'

# Intro video: 3 s, 640x360, 24 fps, H.264 MP4 with faststart, no audio.
ffmpeg -y -loglevel error -f lavfi -i "gradients=size=640x360:rate=24:c0=0x2952cc:c1=0x7b4fd6:c2=0x1f2a44:nb_colors=3:speed=0.02:seed=7" -t 3 \
 -vf "drawtext=fontfile=$FB:text='Northwind':fontsize=64:fontcolor=white:x='(w-text_w)/2':y='120-20*max(0\,1-t)':alpha='min(1\,t*2)',\
drawtext=fontfile=$F:text='Trade that travels well.':fontsize=26:fontcolor=white:x='(w-text_w)/2':y=205:alpha='min(1\,max(0\,(t-0.8)*2))',\
drawtext=fontfile=$F:text='Intro video - Brightline Studio':fontsize=13:fontcolor=white@0.8:x=w-text_w-12:y=h-text_h-10,\
fade=t=in:st=0:d=0.4,fade=t=out:st=2.6:d=0.4,format=yuv420p" \
 -c:v libx264 -profile:v main -preset slow -crf 30 -movflags +faststart intro-video.mp4

# Brand guidelines: two-page A4 PDF written by hand.
python3 make_pdf.py brand-guidelines.pdf

# Checkout flow wireframe (1000x560, greyscale boxes and arrows).
convert -size 1000x560 xc:'#fafbfd' \
 -font $FB -pointsize 26 -fill '#1f2a44' -annotate +40+60 'Checkout flow - wireframe (work in progress)' \
 -fill white -stroke '#9aa3b5' -strokewidth 2 \
 -draw "roundrectangle 40,110 320,500 12,12" -draw "roundrectangle 360,110 640,500 12,12" -draw "roundrectangle 680,110 960,500 12,12" \
 -stroke none -fill '#1f2a44' -annotate +60+150 '1  Basket' -annotate +380+150 '2  Delivery' -annotate +700+150 '3  Payment' \
 -fill '#dfe3ec' -draw "rectangle 60,175 300,235" -draw "rectangle 60,250 300,310" -draw "rectangle 60,325 300,385" \
 -draw "rectangle 380,175 620,205" -draw "rectangle 380,220 620,250" -draw "rectangle 380,265 620,295" -draw "rectangle 380,310 500,340" -draw "rectangle 510,310 620,340" \
 -draw "rectangle 700,175 940,205" -draw "rectangle 700,220 820,250" -draw "rectangle 830,220 940,250" -draw "rectangle 700,265 940,380" \
 -fill '#2952cc' -draw "roundrectangle 60,430 300,475 8,8" -draw "roundrectangle 380,430 620,475 8,8" -draw "roundrectangle 700,430 940,475 8,8" \
 -fill white -font $FB -pointsize 17 -annotate +120+459 'Go to delivery' -annotate +440+459 'Go to payment' -annotate +775+459 'Pay now' \
 -stroke '#9aa3b5' -strokewidth 3 -draw "line 322,305 356,305" -draw "line 642,305 676,305" \
 -stroke none -fill '#9aa3b5' -draw "polygon 358,305 348,299 348,311" -draw "polygon 678,305 668,299 668,311" \
 -font $F -pointsize 14 -fill '#7a8499' -annotate +40+535 'Guest checkout first; account creation offered after payment. - Brightline Studio' \
 -depth 8 +dither -colors 64 -strip -define png:compression-level=9 PNG8:checkout-flow.png

# Globex logo concepts (900x500): three marks on cards.
convert -size 900x500 xc:'#f4f1ea' \
 -font $FB -pointsize 24 -fill '#222222' -annotate +40+55 'Globex Corporation - logo concepts' \
 -fill white -draw "roundrectangle 40,90 300,440 14,14" -draw "roundrectangle 320,90 580,440 14,14" -draw "roundrectangle 600,90 860,440 14,14" \
 -fill '#0b7a75' -draw "circle 170,230 170,160" -fill white -draw "ellipse 170,230 70,24 0,360" -fill '#0b7a75' -draw "ellipse 170,230 70,8 0,360" \
 -fill '#e4572e' -draw "roundrectangle 390,170 510,290 28,28" -fill white -draw "circle 450,230 450,195" -fill '#e4572e' -draw "rectangle 450,215 490,245" \
 -fill '#29335c' -draw "polygon 730,160 800,290 660,290" -fill '#f3a712' -draw "circle 730,250 730,225" \
 -font $FB -pointsize 30 -fill '#222222' -annotate +110+355 'globex' -annotate +385+355 'Globex' -annotate +665+355 'GLOBEX' \
 -font $F -pointsize 15 -fill '#666666' -annotate +120+405 'A - Orbit' -annotate +405+405 'B - Monogram' -annotate +690+405 'C - Summit' \
 -font $F -pointsize 13 -fill '#888888' -annotate +40+480 'Round 1 for review - Brightline Studio' \
 -depth 8 +dither -colors 64 -strip -define png:compression-level=9 PNG8:globex-logo-concepts.png
